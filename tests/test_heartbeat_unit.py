"""deployments/heartbeat.py: the typed report a model replica sends the ModelRegistry."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from deployments.heartbeat import ReplicaReport, report_fields
from deployments.lifecycle import ReplicaLifecycle, cuda_reserved_mb
from deployments.registry import ModelRegistry

REGISTRY = ModelRegistry.func_or_class


def registry():
    return REGISTRY({"m": "M"}, app_name="test", read_status=lambda: None)


class Handle:
    """A registry handle: `.method.remote(...)` calls the registry in process."""

    def __init__(self, target):
        self.target = target

    def __getattr__(self, name):
        method = getattr(self.target, name)

        class Remote:
            @staticmethod
            async def remote(*args):
                return method(*args)

        return Remote


def test_a_report_carries_only_what_it_sets():
    assert report_fields(ReplicaReport(loaded_at=2.0)) == {"loaded_at": 2.0}
    assert report_fields({"dtype": "bfloat16", "releasing": True}) == {"dtype": "bfloat16", "releasing": True}


@pytest.mark.parametrize("bad", [{"largest_batch": 3}, {"cpu_nice": 19}, {"loaded_at": "soon"}])
def test_an_unknown_or_mistyped_field_fails_loudly(bad):
    """A field renamed on one side only used to be stored and never read."""
    with pytest.raises(ValidationError):
        report_fields(bad)
    with pytest.raises(ValidationError):
        registry().heartbeat("m", "r1", bad)


def test_the_replica_sends_a_report_the_registry_merges():
    target = registry()
    lifecycle = ReplicaLifecycle("m", Handle(target))
    asyncio.run(lifecycle.announce("/models/x"))
    lifecycle.mark_loaded()
    asyncio.run(lifecycle.record({"dtype": "float32", "device": "cpu", "load_seconds": 0.5, "torch_threads": 2}))
    (record,) = target.snapshot()["replicas"]["m"]
    assert record["source"] == "/models/x" and record["dtype"] == "float32" and record["torch_threads"] == 2
    assert record["loaded_at"] == lifecycle.loaded_at and record["releasing"] is False
    assert set(record) <= set(ReplicaReport.model_fields) | {"replica_id", "reported_at", "exited_at", "exit_reason"}


def test_a_cpu_replica_reports_no_cuda_memory_and_the_field_is_typed():
    assert cuda_reserved_mb("cpu") is None
    assert report_fields({"cuda_reserved_mb": 3900}) == {"cuda_reserved_mb": 3900}
