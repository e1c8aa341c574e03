"""Worker threads of lower scheduling priority for the ingress's CPU-heavy blocking work.

Decoding an upload and finding the speech in a long file (Silero VAD) take seconds of CPU for
a long file. On asyncio's default pool they run at the ingress's own priority and share a small
machine's cores, slice for slice, with the event loop that answers `/health` and every other
request, and with Serve's proxy. On these threads (Linux niceness is per thread) they still get
every cycle nobody else wants, and give way to the ones that answer. libsndfile, ONNX Runtime and
numpy release the GIL while they work, so a waiting worker seldom holds up the event loop.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


def lower_thread_priority(niceness: int) -> int:
    """The calling thread runs at `niceness` at least; returns the niceness now in force.

    Raising niceness needs no privilege; lowering it does, so a value below the current one is
    left as it is (Ray starts its workers at 15)."""
    tid = threading.get_native_id()
    try:
        if niceness > os.getpriority(os.PRIO_PROCESS, tid):
            os.setpriority(os.PRIO_PROCESS, tid, niceness)
        return os.getpriority(os.PRIO_PROCESS, tid)
    except OSError:  # not Linux (niceness is per process there): leave the process alone
        logger.debug("per-thread niceness is not available here")
        return os.getpriority(os.PRIO_PROCESS, 0)


class CpuWork:
    """`await work.run(fn, *args)`: `fn(*args)` on a worker of lower priority, with the caller's
    context variables (the request id in log lines), as `asyncio.to_thread` would."""

    def __init__(self, niceness: int, workers: int | None = None) -> None:
        self.niceness = niceness
        # asyncio's default size: a few more threads than cores, so concurrent uploads decode together.
        self._pool = ThreadPoolExecutor(max_workers=workers or min(32, (os.cpu_count() or 1) + 4),
                                        thread_name_prefix="cpu-work", initializer=lower_thread_priority,
                                        initargs=(niceness,))

    async def run(self, fn: Callable[..., T], *args) -> T:
        call = functools.partial(contextvars.copy_context().run, fn, *args)
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
