"""Admission control: a bounded number of file transcriptions in flight in one ingress.

The ingress takes `max_ongoing_requests` requests at once; past that, Serve's proxy queues
every request — `/health` and `/api/status` included — behind the work. So transcriptions are
admitted only while fewer than `max_transcriptions_in_flight` are running (a number below the
ingress's limit, leaving slots for health, status and streaming sockets); one more is refused
at once with 503 + `Retry-After` instead of waiting in a queue it cannot leave in time.

A slot is taken and given back in one `async with`, so an error or a cancelled request (a
client that hung up) frees it too. The counter lives in the event loop of one ingress replica:
no lock is needed, nothing awaits between the check and the increment.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from serve_app.errors import ApiError


def overloaded(message: str = "The service is busy; retry shortly.", retry_after_s: int = 2) -> ApiError:
    return ApiError(503, "overloaded", message, headers={"Retry-After": str(max(1, int(retry_after_s)))})


class Admission:
    def __init__(self, limit: int, retry_after_s: int = 2) -> None:
        self.limit = max(1, int(limit))
        self.retry_after_s = retry_after_s
        self.in_flight = 0
        self.refused = 0

    @property
    def full(self) -> bool:
        return self.in_flight >= self.limit

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self.full:
            self.refused += 1
            raise overloaded(f"The service is busy: {self.limit} transcriptions are in progress; retry shortly.",
                             self.retry_after_s)
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1
