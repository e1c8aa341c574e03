"""serve_app.cpu_work: the ingress's decoding and VAD run behind its event loop, as asyncio.to_thread would."""

from __future__ import annotations

import asyncio
import contextvars
import os
import threading

import pytest

from serve_app.cpu_work import CpuWork, lower_thread_priority

REQUEST = contextvars.ContextVar("request", default="none")


def own_niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_work_runs_on_threads_of_the_lower_priority_and_the_loop_keeps_its_own():
    start = own_niceness()
    work = CpuWork(min(19, start + 4), workers=2)
    try:
        seen = asyncio.run(work.run(own_niceness))
    finally:
        work.shutdown()
    assert seen == min(19, start + 4)
    assert own_niceness() == start, "only the pool's threads are lowered"


def test_zero_leaves_the_ingress_priority_alone():
    start = own_niceness()
    work = CpuWork(0, workers=1)
    try:
        assert asyncio.run(work.run(own_niceness)) == start
    finally:
        work.shutdown()


def test_results_exceptions_and_the_callers_context_come_through():
    work = CpuWork(0, workers=2)

    async def main():
        REQUEST.set("req-7")
        assert await work.run(divmod, 17, 5) == (3, 2)
        assert await work.run(REQUEST.get) == "req-7", "log lines keep the request id"
        with pytest.raises(ZeroDivisionError):
            await work.run(divmod, 1, 0)

    try:
        asyncio.run(main())
    finally:
        work.shutdown()


def test_a_lower_value_than_the_current_one_is_left_as_it_is():
    result: list[int] = []

    def body():
        current = own_niceness()
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), min(19, current + 2))
        result.append(lower_thread_priority(current))  # asking for less would need privilege
        result.append(min(19, current + 2))

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    assert result[0] == result[1]
