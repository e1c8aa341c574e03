"""ModelGate: one model call at a time, and a newcomer learns when the running call ends."""

from __future__ import annotations

import asyncio

import pytest

from deployments.model_gate import ModelGate


async def test_a_second_call_waits_for_the_first():
    gate, order = ModelGate(), []

    async def call(name: str, hold: asyncio.Event) -> None:
        async with gate.call():
            order.append(f"{name} in")
            await hold.wait()
            order.append(f"{name} out")

    first_hold, second_hold = asyncio.Event(), asyncio.Event()
    first = asyncio.ensure_future(call("first", first_hold))
    await asyncio.sleep(0)
    second = asyncio.ensure_future(call("second", second_hold))
    await asyncio.sleep(0.01)
    assert order == ["first in"]
    first_hold.set()
    second_hold.set()
    await asyncio.gather(first, second)
    assert order == ["first in", "first out", "second in", "second out"]


async def test_wait_free_returns_when_the_running_call_ends_without_taking_the_model():
    gate, hold = ModelGate(), asyncio.Event()
    assert not gate.busy
    await asyncio.wait_for(gate.wait_free(), 1)  # free: at once

    async def running() -> None:
        async with gate.call():
            await hold.wait()

    task = asyncio.ensure_future(running())
    await asyncio.sleep(0)
    assert gate.busy
    waiters = [asyncio.ensure_future(gate.wait_free()) for _ in range(3)]
    await asyncio.sleep(0.01)
    assert not any(w.done() for w in waiters)
    hold.set()
    await asyncio.wait_for(asyncio.gather(*waiters), 1)  # every waiter wakes on the one release
    await task
    assert not gate.busy  # waiting did not take the model


async def test_a_failed_call_frees_the_model():
    gate = ModelGate()
    with pytest.raises(RuntimeError):
        async with gate.call():
            raise RuntimeError("the model failed")
    assert not gate.busy
    await asyncio.wait_for(gate.wait_free(), 1)
