"""Pure lifecycle logic: the registry's bookkeeping, replica idle accounting, state derivation."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

from deployments.lifecycle import IDLE_METRIC, RELEASE_METRIC, ReplicaLifecycle
from deployments.registry import STALE_AFTER_S, ModelRegistry
from serve_app.services.lifecycle import LifecycleService

Registry = ModelRegistry.func_or_class


def test_registry_records_release_requests_and_heartbeats():
    registry = Registry()
    assert registry.heartbeat("m", "r1", {"pid": 1}) == 0.0
    released_at = registry.request_release(["m"])
    assert registry.heartbeat("m", "r1", {"pid": 1}) == released_at
    assert registry.release_requested_at("m") == released_at
    assert registry.release_requested_at("other") == 0.0
    snapshot = registry.snapshot()
    assert snapshot["replicas"]["m"][0]["pid"] == 1
    registry.forget("m", "r1")
    assert registry.snapshot()["replicas"]["m"] == []


def test_registry_drops_stale_replicas():
    registry = Registry()
    registry.heartbeat("m", "r1", {})
    registry._replicas["m"]["r1"]["reported_at"] -= STALE_AFTER_S + 1
    assert registry.snapshot()["replicas"]["m"] == []


class FakeRemote:
    def __init__(self, fn):
        self.fn = fn

    async def remote(self, *args):
        return self.fn(*args)


class FakeRegistryHandle:
    def __init__(self, registry):
        self.heartbeat = FakeRemote(registry.heartbeat)
        self.forget = FakeRemote(registry.forget)


def test_replica_is_not_idle_while_loading_or_busy():
    lifecycle = ReplicaLifecycle("m", FakeRegistryHandle(Registry()))
    lifecycle.last_active -= 100
    assert lifecycle.idle_seconds() == 0.0  # still loading
    lifecycle.mark_loaded()
    with lifecycle.busy():
        assert lifecycle.idle_seconds() == 0.0
    lifecycle.last_active -= 50
    assert lifecycle.idle_seconds() >= 50
    assert lifecycle.requests_served == 1


def test_replica_sees_a_release_requested_after_it_started():
    registry = Registry()
    lifecycle = ReplicaLifecycle("m", FakeRegistryHandle(registry))
    lifecycle.mark_loaded()
    metrics = asyncio.run(lifecycle.record({}))
    assert metrics[RELEASE_METRIC] == 0.0 and IDLE_METRIC in metrics
    time.sleep(0.01)
    registry.request_release(["m"])
    assert asyncio.run(lifecycle.record({}))[RELEASE_METRIC] == 1.0


def test_a_release_older_than_the_replica_does_not_stop_it():
    registry = Registry()
    registry.request_release(["m"])
    time.sleep(0.01)
    lifecycle = ReplicaLifecycle("m", FakeRegistryHandle(registry))
    lifecycle.mark_loaded()
    assert asyncio.run(lifecycle.record({}))[RELEASE_METRIC] == 0.0


def service() -> LifecycleService:
    return LifecycleService(registry=None, app_name="a", sources={}, idle_timeout_s=600,
                            release_other_on_switch=True, switch_wait_s=1, release_wait_s=1)


def beat(loaded_at=100.0, idle=30.0, reported_at=200.0, releasing=False):
    return {"loaded_at": loaded_at, "idle_seconds": idle, "reported_at": reported_at, "releasing": releasing,
            "load_seconds": 1.5, "dtype": "bfloat16", "device": "cuda:0"}


@pytest.mark.parametrize("counts,beats,release_at,in_flight,state", [
    ({}, [], 0.0, 0, "not_loaded"),
    ({}, [], 0.0, 1, "loading"),
    ({"STARTING": 1}, [], 0.0, 0, "loading"),
    ({"RUNNING": 1}, [beat()], 0.0, 0, "loaded"),
    ({"RUNNING": 1}, [beat(releasing=True)], 0.0, 0, "releasing"),
    ({"RUNNING": 1}, [beat(loaded_at=100.0)], 150.0, 0, "releasing"),
    ({"STOPPING": 1}, [], 0.0, 0, "releasing"),
])
def test_state_derivation(counts, beats, release_at, in_flight, state):
    svc = service()
    svc.counters.in_flight["qwen3-asr-0.6b"] = in_flight
    described = svc._describe("qwen3-asr-0.6b", Counter(counts), beats, release_at, now=200.0)
    assert described["state"] == state


def test_loaded_model_reports_idle_and_countdown():
    described = service()._describe("qwen3-asr-1.7b", Counter({"RUNNING": 1}), [beat(idle=30.0, reported_at=198.0)],
                                    0.0, now=200.0)
    assert described["idle_seconds"] == 32.0
    assert described["unload_in_seconds"] == 568.0
    assert described["dtype"] == "bfloat16" and described["load_seconds"] == 1.5 and described["replicas"] == 1


def test_queue_counts_requests_waiting_for_a_model():
    svc = service()
    svc.counters.in_flight.update({"a": 2, "b": 1})
    models = {"a": {"state": "loading", "in_flight": 2}, "b": {"state": "loaded", "in_flight": 1}}
    assert svc.queue(models) == {"in_flight": 3, "waiting": 2}
