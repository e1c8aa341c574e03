"""Lifecycle logic without Ray: the registry's bookkeeping, replica accounting, the ingress's
model view, and the admission / switch / release rules against a simulated cluster."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from types import SimpleNamespace

import pytest

from deployments import lifecycle as replica_lifecycle
from deployments import replica_counts
from deployments.lifecycle import (
    IDLE_METRIC,
    RELEASE_METRIC,
    ReplicaLifecycle,
    torch_thread_count,
)
from deployments.protocol import DEPLOYMENT_NAMES
from deployments.registry import HISTORY_PER_MODEL, STALE_AFTER_S, ModelRegistry
from deployments.replica_counts import ReplicaCounts, counts_from_status
from serve_app.services.lifecycle import LifecycleService
from serve_app.services.model_view import ModelView, Picture

Registry = ModelRegistry.func_or_class


def new_registry(read_status=None):
    """The real registry class, in application "app", reading Serve's counts from `read_status`."""
    return Registry(DEPLOYMENT_NAMES, app_name="app", read_status=read_status or (lambda: status_with({})))
LARGE, SMALL, ALIGNER = "qwen3-asr-1.7b", "qwen3-asr-0.6b", "qwen3-forced-aligner-0.6b"


# ---- fakes ------------------------------------------------------------------------------------
class CountingRemote:
    def __init__(self, fn, calls: Counter, name: str):
        self.fn, self.calls, self.name = fn, calls, name

    async def remote(self, *args):
        self.calls[self.name] += 1
        result = self.fn(*args)
        return await result if asyncio.iscoroutine(result) else result


class RegistryHandle:
    """The real registry class behind async `.remote()` calls, counting each call."""

    def __init__(self, registry=None):
        self.registry = registry or new_registry()
        self.calls: Counter = Counter()
        for name in ("request_release", "release_done", "replica_started", "heartbeat", "replica_exited",
                     "snapshot", "picture"):
            setattr(self, name, CountingRemote(getattr(self.registry, name), self.calls, name))


class Cluster:
    """Replica counts as `serve.status()` would report them; released models stop after a delay."""

    def __init__(self, registry: RegistryHandle, running: dict[str, int] | None = None, stop_after_s: float = 0.05):
        self.registry = registry
        self.running = Counter(running or {})
        self.stop_after_s = stop_after_s
        self.status_reads = 0
        self.exits: dict[str, float] = {}
        self.stuck: set[str] = set()
        self.service: LifecycleService | None = None
        self.starts: dict[str, float] = {}
        self._task: asyncio.Task | None = None

    def status(self):
        self.status_reads += 1
        deployments = {name: SimpleNamespace(replica_states={"RUNNING": self.running[m]} if self.running[m] else {})
                       for m, name in DEPLOYMENT_NAMES.items()}
        return SimpleNamespace(applications={"app": SimpleNamespace(deployments=deployments)})

    def start(self):
        self._task = asyncio.get_running_loop().create_task(self._controller())

    async def _controller(self):
        while True:
            pending = self.registry.registry.snapshot()["release_pending"]
            for model in pending:
                if self.running[model] and model not in self.stuck:
                    await asyncio.sleep(self.stop_after_s)
                    self.running[model] = 0
                    self.exits[model] = time.monotonic()
            await asyncio.sleep(0.01)

    def cold_start(self, model: str) -> None:
        """Serve's cold start: a request sent to a model with no replica brings one up."""
        if not self.running[model]:
            self.running[model] = 1
            self.starts[model] = time.monotonic()

    def stop(self):
        if self._task:
            self._task.cancel()


def make_service(running=None, policy=True, wait_s=2.0, stop_after_s=0.05):
    registry = RegistryHandle(new_registry(read_status=lambda: cluster.status()))
    cluster = Cluster(registry, running, stop_after_s)
    view = ModelView(registry, read_gpu=lambda pids: {"available": False, "reason": "test"}, refresh_s=0.05)
    service = LifecycleService(registry, view, sources={}, idle_timeout_s=600, release_other_on_switch=policy,
                               switch_wait_s=wait_s, release_wait_s=wait_s)
    cluster.service = service
    service.counters.dispatched = SendCounter(cluster.cold_start)
    return service, registry, cluster


class SendCounter(Counter):
    """`dispatched` that tells the simulated cluster when a request is sent to a model."""

    def __init__(self, on_send):
        super().__init__()
        self.on_send = on_send

    def __setitem__(self, key, value):
        if value > self.get(key, 0):
            self.on_send(key)
        super().__setitem__(key, value)


async def started(service, cluster):
    await service.view.refresh()
    service.view.start()
    cluster.start()


# ---- registry -----------------------------------------------------------------------------------
def test_registry_pending_release_reaches_replicas_started_after_the_request():
    registry = new_registry()
    assert registry.heartbeat("m", "r1", {"pid": 1}) is False
    requested_at = registry.request_release(["m"])
    assert registry.heartbeat("m", "r1", {"pid": 1}) is True
    registry.replica_started("m", "r2", {"pid": 2, "started_at": time.time()})
    assert registry.heartbeat("m", "r2", {}) is True, "a replica still starting at the release must go too"
    assert registry.heartbeat("other", "r3", {}) is False
    assert registry.snapshot()["release_pending"] == ["m"]
    registry.release_done(["m"], requested_at)
    assert registry.heartbeat("m", "r4", {}) is False
    assert registry.snapshot()["release_pending"] == []


def test_registry_keeps_a_newer_release_pending_when_an_older_one_is_done():
    registry = new_registry()
    first = registry.request_release(["m"])
    time.sleep(0.01)
    registry.request_release(["m"])
    registry.release_done(["m"], first)
    assert registry.heartbeat("m", "r1", {}) is True


def test_registry_release_expires_by_itself():
    registry = new_registry()
    registry.request_release(["m"], ttl_s=0.05)
    assert registry.heartbeat("m", "r1", {}) is True
    time.sleep(0.1)
    assert registry.heartbeat("m", "r1", {}) is False


def test_registry_records_replica_lifetimes():
    registry = new_registry()
    registry.replica_started("m", "r1", {"pid": 7, "started_at": 10.0})
    registry.heartbeat("m", "r1", {"loaded_at": 12.0})
    snapshot = registry.snapshot()
    assert snapshot["replicas"]["m"][0]["pid"] == 7 and snapshot["replicas"]["m"][0]["loaded_at"] == 12.0
    registry.replica_exited("m", "r1", "released")
    snapshot = registry.snapshot()
    assert snapshot["replicas"]["m"] == []
    (record,) = snapshot["history"]["m"]
    assert record["started_at"] == 10.0 and record["loaded_at"] == 12.0
    assert record["exit_reason"] == "released" and record["exited_at"] >= record["loaded_at"]


def test_registry_ignores_a_heartbeat_that_arrives_after_the_exit():
    # record_autoscaling_stats() may still be in flight while __del__ reports the exit.
    registry = new_registry()
    registry.replica_started("m", "r1", {"started_at": 1.0})
    registry.heartbeat("m", "r1", {"loaded_at": 2.0, "releasing": True})
    registry.replica_exited("m", "r1", "released")
    assert registry.heartbeat("m", "r1", {"loaded_at": 2.0, "releasing": True}) is True, "told to go again"
    snapshot = registry.snapshot()
    assert snapshot["replicas"]["m"] == [], "an exited replica came back as a live, releasing one"
    assert [r["exit_reason"] for r in snapshot["history"]["m"]] == ["released"]


def test_registry_history_is_bounded():
    registry = new_registry()
    for n in range(HISTORY_PER_MODEL + 5):
        registry.replica_started("m", f"r{n}", {"started_at": float(n)})
        registry.replica_exited("m", f"r{n}", "stopped")
    history = registry.snapshot()["history"]["m"]
    assert len(history) == HISTORY_PER_MODEL
    assert history[-1]["replica_id"] == f"r{HISTORY_PER_MODEL + 4}"


def test_registry_moves_silent_replicas_to_history_as_lost():
    registry = new_registry()
    registry.heartbeat("m", "r1", {})
    registry._replicas["m"]["r1"]["reported_at"] -= STALE_AFTER_S + 1
    snapshot = registry.snapshot()
    assert snapshot["replicas"]["m"] == []
    assert snapshot["history"]["m"][0]["exit_reason"] == "lost"
    assert snapshot["history"]["m"][0]["exited_at"] is None


def test_registry_takes_back_a_lost_verdict_when_the_replica_reports_again():
    registry = new_registry()
    registry.replica_started("m", "r1", {"started_at": 1.0})
    registry._replicas["m"]["r1"]["reported_at"] -= STALE_AFTER_S + 1  # e.g. a long, blocking model load
    assert registry.snapshot()["history"]["m"][0]["exit_reason"] == "lost"
    registry.heartbeat("m", "r1", {"loaded_at": 30.0})
    snapshot = registry.snapshot()
    assert snapshot["history"]["m"] == [] and snapshot["replicas"]["m"][0]["loaded_at"] == 30.0


# ---- one replica's accounting ----------------------------------------------------------------------
def test_replica_is_not_idle_while_loading_or_busy():
    lifecycle = ReplicaLifecycle("m", RegistryHandle())
    lifecycle.last_active -= 100
    assert lifecycle.idle_seconds() == 0.0  # still loading
    lifecycle.mark_loaded()
    with lifecycle.busy():
        assert lifecycle.idle_seconds() == 0.0
    lifecycle.last_active -= 50
    assert lifecycle.idle_seconds() >= 50
    assert lifecycle.requests_served == 1


def test_replica_release_flag_is_sticky_once_told():
    handle = RegistryHandle()
    lifecycle = ReplicaLifecycle("m", handle)
    lifecycle.mark_loaded()
    metrics = asyncio.run(lifecycle.record({}))
    assert metrics[RELEASE_METRIC] == 0.0 and IDLE_METRIC in metrics
    requested_at = handle.registry.request_release(["m"])
    assert asyncio.run(lifecycle.record({}))[RELEASE_METRIC] == 1.0
    handle.registry.release_done(["m"], requested_at)
    assert asyncio.run(lifecycle.record({}))[RELEASE_METRIC] == 1.0


def test_replica_announces_itself_and_says_why_it_exited():
    handle = RegistryHandle()
    lifecycle = ReplicaLifecycle("m", handle)
    asyncio.run(lifecycle.announce("/models/x"))
    (record,) = handle.registry.snapshot()["replicas"]["m"]
    assert record["started_at"] == lifecycle.started_at and record["source"] == "/models/x"
    lifecycle.releasing = True
    asyncio.run(lifecycle.exited())
    assert handle.registry.snapshot()["history"]["m"][0]["exit_reason"] == "released"


def test_torch_threads_follow_the_cpus_given(monkeypatch):
    assert torch_thread_count(3) == 3

    def context(cpus):
        return SimpleNamespace(get_assigned_resources=lambda: {"CPU": cpus})

    import ray

    monkeypatch.setattr(ray, "get_runtime_context", lambda: context(4.0))
    assert torch_thread_count(0) == 4
    monkeypatch.setattr(ray, "get_runtime_context", lambda: context(0.0))
    monkeypatch.setattr(replica_lifecycle.os, "sched_getaffinity", lambda _pid: {0, 1, 2, 3, 4, 5}, raising=False)
    assert torch_thread_count(0) == 6, "a replica that asked for no CPU slot gets every core, not one thread"


# ---- the model view ----------------------------------------------------------------------------------
def status_with(states_by_deployment: dict[str, dict[str, int]]):
    deployments = {n: SimpleNamespace(replica_states=s) for n, s in states_by_deployment.items()}
    return SimpleNamespace(applications={"app": SimpleNamespace(deployments=deployments)})


def test_counts_from_status_groups_replica_states():
    status = status_with({"Qwen3ASR-1.7B": {"RUNNING": 1, "STOPPING": 1}, "Qwen3ASR-0.6B": {"STARTING": 2}})
    counts = counts_from_status(status, "app", DEPLOYMENT_NAMES)
    assert counts[LARGE] == ReplicaCounts(running=1, stopping=1)
    assert counts[SMALL] == ReplicaCounts(starting=2) and counts[SMALL].live == 2
    assert counts[ALIGNER].live == 0


def test_view_waits_for_a_picture_read_after_the_event():
    reads = []

    def read_status():
        reads.append(time.time())
        return status_with({})

    registry = RegistryHandle(new_registry(read_status))

    async def scenario():
        view = ModelView(registry, read_gpu=lambda p: {}, refresh_s=10.0)
        await view.refresh()
        view.start()
        event = time.time()
        ok = await asyncio.wait_for(view.wait_for(lambda p: True, after=event, timeout_s=5), 6)
        assert ok and view.picture.read_started_at >= event
        assert not await view.wait_for(lambda p: False, after=event, timeout_s=0.3)
        await view.stop()

    asyncio.run(scenario())
    assert len(reads) >= 3, "a waiter must hurry the refresh loop instead of waiting out refresh_s"


# ---- state per model -------------------------------------------------------------------------------
def beat(loaded_at=100.0, idle=30.0, reported_at=200.0, releasing=False):
    return {"loaded_at": loaded_at, "idle_seconds": idle, "reported_at": reported_at, "releasing": releasing,
            "load_seconds": 1.5, "dtype": "bfloat16", "device": "cuda:0", "pid": 42}


@pytest.mark.parametrize("counts,beats,in_flight,state", [
    (ReplicaCounts(), [], 0, "not_loaded"),
    (ReplicaCounts(), [], 1, "loading"),
    (ReplicaCounts(starting=1), [], 0, "loading"),
    (ReplicaCounts(running=1), [beat()], 0, "loaded"),
    (ReplicaCounts(running=1), [beat(releasing=True)], 0, "releasing"),
    (ReplicaCounts(stopping=1), [], 0, "releasing"),
])
def test_state_derivation(counts, beats, in_flight, state):
    service, _, _ = make_service()
    service.counters.in_flight[SMALL] = in_flight
    picture = Picture(1.0, {SMALL: counts}, {"now": 200.0, "replicas": {SMALL: beats}})
    assert service.describe(SMALL, picture)["state"] == state


def test_loaded_model_reports_idle_countdown_and_history():
    service, _, _ = make_service()
    picture = Picture(1.0, {LARGE: ReplicaCounts(running=1)},
                      {"now": 200.0, "replicas": {LARGE: [beat(idle=30.0, reported_at=198.0)]},
                       "history": {LARGE: [{"replica_id": "old", "started_at": 1.0, "exited_at": 5.0,
                                            "exit_reason": "released"}]}})
    described = service.describe(LARGE, picture, history=True)
    assert described["idle_seconds"] == 32.0 and described["unload_in_seconds"] == 568.0
    assert described["dtype"] == "bfloat16" and described["load_seconds"] == 1.5 and described["replicas"] == 1
    assert [r["replica_id"] for r in described["replica_history"]] == ["old", None]
    assert described["replica_history"][0]["exit_reason"] == "released"
    assert picture.pids() == {LARGE: {42}}


def test_each_model_reports_the_gpu_memory_its_replicas_hold():
    service, _, _ = make_service()
    gpu = {"available": True, "gpus": [{"index": 0, "model_memory_mb": {LARGE: 4100}},
                                        {"index": 1, "model_memory_mb": {LARGE: 100, SMALL: 900}}]}
    picture = Picture(1.0, {LARGE: ReplicaCounts(running=1)}, {"now": 200.0, "replicas": {}}, gpu)
    assert service.describe(LARGE, picture)["gpu_memory_mb"] == 4200
    assert service.describe(SMALL, picture)["gpu_memory_mb"] == 900
    assert service.describe(ALIGNER, picture)["gpu_memory_mb"] == 0
    no_gpu = Picture(1.0, {}, {"now": 200.0}, {"available": False, "reason": "NVML not available"})
    assert service.describe(LARGE, no_gpu)["gpu_memory_mb"] is None


def test_in_a_container_nvml_sees_no_replica_pid_and_the_allocators_figure_stands_in():
    service, _, _ = make_service()
    gpu = {"available": True, "gpus": [{"index": 0, "model_memory_mb": {}}]}
    beats = [beat(idle=1.0, reported_at=199.0) | {"cuda_reserved_mb": 3900}]
    picture = Picture(1.0, {LARGE: ReplicaCounts(running=1)}, {"now": 200.0, "replicas": {LARGE: beats}}, gpu)
    assert service.describe(LARGE, picture)["gpu_memory_mb"] == 3900
    cpu_beats = [beat(idle=1.0, reported_at=199.0)]
    on_cpu = Picture(1.0, {LARGE: ReplicaCounts(running=1)}, {"now": 200.0, "replicas": {LARGE: cpu_beats}}, gpu)
    assert service.describe(LARGE, on_cpu)["gpu_memory_mb"] == 0


def test_queue_counts_requests_waiting_for_a_model():
    service, _, _ = make_service()
    service.counters.in_flight.update({"a": 2, "b": 1})
    models = {"a": {"state": "loading", "in_flight": 2}, "b": {"state": "loaded", "in_flight": 1}}
    assert service.queue(models) == {"in_flight": 3, "waiting": 2}


# ---- admission: the request path ---------------------------------------------------------------------
def test_a_warm_model_is_served_without_any_rpc_or_status_read():
    async def scenario():
        service, registry, cluster = make_service({LARGE: 1})
        await service.view.refresh()  # the view loop is not running: nothing refreshes behind our back
        calls, reads = sum(registry.calls.values()), cluster.status_reads
        for _ in range(20):
            async with service.serving(LARGE):
                pass
        assert sum(registry.calls.values()) == calls and cluster.status_reads == reads

    asyncio.run(scenario())


def test_switch_releases_the_other_model_before_this_one_is_sent():
    async def scenario():
        service, registry, cluster = make_service({SMALL: 1})
        await started(service, cluster)
        async with service.serving(LARGE):
            entered = time.monotonic()
            assert cluster.running[SMALL] == 0
        assert cluster.exits[SMALL] <= entered
        assert registry.calls["request_release"] == 1 and registry.calls["release_done"] == 1
        assert not registry.registry.snapshot()["release_pending"], "the release must not outlive the switch"
        cluster.stop()

    asyncio.run(scenario())


def test_concurrent_requests_for_the_new_model_share_one_switch():
    async def scenario():
        service, registry, cluster = make_service({SMALL: 1}, stop_after_s=0.2)
        await started(service, cluster)
        entered = []

        async def one():
            async with service.serving(LARGE):
                entered.append(time.monotonic())

        await asyncio.gather(*(one() for _ in range(8)))
        assert registry.calls["request_release"] == 1
        assert len(entered) == 8 and min(entered) >= cluster.exits[SMALL]
        cluster.stop()

    asyncio.run(scenario())


def test_switch_waits_for_requests_already_sent_to_the_other_model():
    async def scenario():
        service, registry, cluster = make_service({SMALL: 1})
        await started(service, cluster)
        order = []
        small_may_finish = asyncio.Event()

        async def small_request():
            async with service.serving(SMALL):
                order.append("small started")
                await small_may_finish.wait()
                order.append("small done")

        async def large_request():
            await asyncio.sleep(0.05)
            async with service.serving(LARGE):
                order.append("large sent")

        task = asyncio.gather(small_request(), large_request())
        await asyncio.sleep(0.3)
        assert order == ["small started"], "the large model must wait for the small one's request"
        small_may_finish.set()
        await task
        assert order == ["small started", "small done", "large sent"]
        cluster.stop()

    asyncio.run(scenario())


def test_policy_off_never_releases():
    async def scenario():
        service, registry, cluster = make_service({SMALL: 1}, policy=False)
        await started(service, cluster)
        async with service.serving(LARGE):
            pass
        assert registry.calls["request_release"] == 0 and cluster.running[SMALL] == 1
        cluster.stop()

    asyncio.run(scenario())


def test_the_aligner_never_triggers_a_switch():
    async def scenario():
        service, registry, cluster = make_service({SMALL: 1, LARGE: 1})
        await started(service, cluster)
        async with service.serving(ALIGNER):
            pass
        assert registry.calls["request_release"] == 0
        cluster.stop()

    asyncio.run(scenario())


# ---- release now -----------------------------------------------------------------------------------
def test_release_answers_after_the_replicas_exited():
    async def scenario():
        service, _, cluster = make_service({LARGE: 1, ALIGNER: 1})
        await started(service, cluster)
        outcome = await service.release([LARGE, ALIGNER, SMALL])
        assert outcome["complete"] is True
        assert outcome["released"] == [LARGE, ALIGNER] and outcome["already_unloaded"] == [SMALL]
        assert {m: d["state"] for m, d in outcome["models"].items()} == {
            LARGE: "not_loaded", SMALL: "not_loaded", ALIGNER: "not_loaded"}
        assert cluster.running[LARGE] == 0 and cluster.running[ALIGNER] == 0
        cluster.stop()

    asyncio.run(scenario())


def test_release_that_times_out_says_releasing():
    async def scenario():
        service, _, cluster = make_service({LARGE: 1}, wait_s=0.4)
        cluster.stuck.add(LARGE)
        await started(service, cluster)
        outcome = await service.release([LARGE])
        assert outcome["complete"] is False
        cluster.running[LARGE] = 0
        cluster.stuck.clear()
        cluster.stop()
        return outcome

    outcome = asyncio.run(scenario())
    assert outcome["models"][LARGE]["state"] in ("releasing", "loaded")


def test_a_request_during_a_release_waits_for_the_exit_then_goes_through():
    async def scenario():
        service, registry, cluster = make_service({SMALL: 1}, stop_after_s=0.3)
        await started(service, cluster)
        release = asyncio.ensure_future(service.release([SMALL]))
        await asyncio.sleep(0.05)
        async with service.serving(SMALL):
            sent = time.monotonic()
        assert sent >= cluster.exits[SMALL]
        assert (await release)["complete"] is True
        assert not registry.registry.snapshot()["release_pending"], "a new replica for this request may stay"
        cluster.stop()

    asyncio.run(scenario())


def test_counts_from_status_never_reads_another_applications_models():
    status = status_with({"Qwen3ASR-1.7B": {"RUNNING": 1}})
    counts = counts_from_status(status, "not-this-app", DEPLOYMENT_NAMES)
    assert all(c.live == 0 for c in counts.values())


def test_the_registry_reads_serves_status_only_when_its_replicas_change(monkeypatch):
    """serve.status() costs tens of ms of CPU: the registry (never the ingress) reads it, and only
    when its heartbeats show a replica starting or exiting, when counts newer than the call are
    asked for, or when the last read is older than STATUS_REFRESH_S."""
    reads = []

    def read_status():
        reads.append(time.time())
        return status_with({"Qwen3ASR-1.7B": {"RUNNING": len(reads)}})

    registry = new_registry(read_status)

    async def scenario():
        first = await registry.picture()
        assert len(reads) == 1 and first["counts"][LARGE] == {"running": 1, "starting": 0, "stopping": 0}
        quiet = await registry.picture()
        assert len(reads) == 1, "nothing changed: no status read"
        assert quiet["counts_read_at"] == first["counts_read_at"] and quiet["counts"] == first["counts"]
        registry.replica_started(LARGE, "r1", {"pid": 1})
        changed = await registry.picture()
        assert len(reads) == 2, "a replica appeared: Serve's counts are read again at once"
        assert changed["counts_read_at"] > first["counts_read_at"] and changed["counts"][LARGE]["running"] == 2
        await registry.picture()
        assert len(reads) == 2
        asked_at = time.time()
        fresh = await registry.picture(fresh=True)
        assert len(reads) == 3 and fresh["counts_read_at"] >= asked_at, "fresh: counts read after the call"
        monkeypatch.setattr(replica_counts, "STATUS_REFRESH_S", 0.0)
        await registry.picture()
        assert len(reads) == 4, "never older than STATUS_REFRESH_S"

    asyncio.run(scenario())


def test_concurrent_fresh_pictures_share_one_status_read():
    reads = []

    def read_status():
        reads.append(time.time())
        time.sleep(0.05)
        return status_with({})

    registry = new_registry(read_status)

    async def scenario():
        await registry.picture()
        pictures = await asyncio.gather(*(registry.picture(fresh=True) for _ in range(5)))
        assert len({p["counts_read_at"] for p in pictures}) == 1

    asyncio.run(scenario())
    assert len(reads) == 2, "five waiters asking at once share the one read that started after them"
