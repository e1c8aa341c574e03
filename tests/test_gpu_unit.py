"""serve_app/gpu.py with a fake NVML: what each failure looks like, how the service's share is counted."""

from __future__ import annotations

import sys
import threading
from types import ModuleType, SimpleNamespace

import pytest

from serve_app import gpu

MIB = 1024 * 1024


class FakeNvml:
    """Enough of pynvml for gpu_snapshot: per-device memory, name, load and processes."""

    NVML_TEMPERATURE_GPU = 0

    def __init__(self, devices: list[dict]) -> None:
        self.devices = devices

    def nvmlDeviceGetCount(self):
        return len(self.devices)

    def nvmlDeviceGetHandleByIndex(self, index):
        device = self.devices[index]
        if "handle_error" in device:
            raise RuntimeError(device["handle_error"])
        return device

    def nvmlDeviceGetMemoryInfo(self, handle):
        total, used = handle.get("total", 46068), handle.get("used", 0)
        return SimpleNamespace(total=total * MIB, used=used * MIB, free=(total - used) * MIB)

    def nvmlDeviceGetName(self, handle):
        return handle.get("name", b"NVIDIA L40S")

    def nvmlDeviceGetUtilizationRates(self, handle):
        if handle.get("no_util"):
            raise RuntimeError("NVML_ERROR_NOT_SUPPORTED")
        return SimpleNamespace(gpu=handle.get("util", 0))

    def nvmlDeviceGetTemperature(self, handle, kind):
        assert kind == self.NVML_TEMPERATURE_GPU
        return handle.get("temp", 40)

    def nvmlDeviceGetComputeRunningProcesses(self, handle):
        if handle.get("compute_error"):
            raise RuntimeError("NVML_ERROR_NO_PERMISSION")
        return [SimpleNamespace(pid=pid, usedGpuMemory=mb if mb is None else mb * MIB)
                for pid, mb in handle.get("compute", [])]

    def nvmlDeviceGetGraphicsRunningProcesses(self, handle):
        return [SimpleNamespace(pid=pid, usedGpuMemory=mb * MIB) for pid, mb in handle.get("graphics", [])]


def snapshot(monkeypatch, devices: list[dict], pids=None) -> dict:
    monkeypatch.setattr(gpu, "_ensure_nvml", lambda: FakeNvml(devices))
    return gpu.gpu_snapshot(pids)


def test_memory_is_reported_in_whole_mib(monkeypatch):
    nvml = FakeNvml([{}])
    nvml.nvmlDeviceGetMemoryInfo = lambda h: SimpleNamespace(total=2 * MIB - 1, used=MIB + MIB // 2, free=MIB // 2)
    monkeypatch.setattr(gpu, "_ensure_nvml", lambda: nvml)
    card = gpu.gpu_snapshot()["gpus"][0]
    assert (card["memory_total_mb"], card["memory_used_mb"], card["memory_free_mb"]) == (1, 1, 0)


def test_names_as_bytes_or_str(monkeypatch):
    cards = snapshot(monkeypatch, [{"name": b"NVIDIA L40S"}, {"name": "NVIDIA H100"}])["gpus"]
    assert [c["name"] for c in cards] == ["NVIDIA L40S", "NVIDIA H100"]
    assert [c["index"] for c in cards] == [0, 1]


def test_service_memory_counts_only_service_pids_over_compute_and_graphics(monkeypatch):
    device = {"compute": [(11, 3000), (12, 1000), (99, 900)], "graphics": [(11, 24), (98, 5000)]}
    card = snapshot(monkeypatch, [device], pids={"a": {11}, "b": {12}})["gpus"][0]
    assert card["service_memory_mb"] == 4024


def test_each_models_memory_is_its_own_processes_on_each_card(monkeypatch):
    """Two cards: the 1.7B on the first, the aligner on both, the 0.6B nowhere (left out)."""
    devices = [{"compute": [(11, 3000), (13, 500), (99, 900)]}, {"compute": [(14, 700)], "graphics": [(13, 24)]}]
    cards = snapshot(monkeypatch, devices, pids={"large": {11}, "aligner": {13, 14}, "small": {12}})["gpus"]
    assert cards[0]["model_memory_mb"] == {"large": 3000, "aligner": 500}
    assert cards[1]["model_memory_mb"] == {"aligner": 724}
    assert [c["service_memory_mb"] for c in cards] == [3500, 724]


def test_another_process_on_the_card_is_nobodys_model(monkeypatch):
    card = snapshot(monkeypatch, [{"compute": [(99, 9000)]}], pids={"large": {11}})["gpus"][0]
    assert card["model_memory_mb"] == {} and card["service_memory_mb"] == 0


def test_service_memory_is_zero_without_pids(monkeypatch):
    card = snapshot(monkeypatch, [{"compute": [(11, 3000)]}], pids=None)["gpus"][0]
    assert card["service_memory_mb"] == 0


def test_processes_without_a_memory_figure_are_skipped(monkeypatch):
    """NVML reports None for processes it cannot measure (e.g. under MIG or no permission)."""
    card = snapshot(monkeypatch, [{"compute": [(11, None), (12, 100)]}], pids={"a": {11}, "b": {12}})["gpus"][0]
    assert card["service_memory_mb"] == 100


def test_a_refused_process_query_keeps_the_other_list(monkeypatch):
    card = snapshot(monkeypatch, [{"compute_error": True, "graphics": [(11, 64)]}], pids={"a": {11}})["gpus"][0]
    assert card["service_memory_mb"] == 64


def test_unsupported_utilisation_leaves_load_and_temperature_unknown(monkeypatch):
    card = snapshot(monkeypatch, [{"no_util": True, "used": 100}])["gpus"][0]
    assert card["utilization_percent"] is None and card["temperature_c"] is None
    assert card["memory_used_mb"] == 100


def test_load_and_temperature_are_integers(monkeypatch):
    card = snapshot(monkeypatch, [{"util": 37.0, "temp": 55.0}])["gpus"][0]
    assert card["utilization_percent"] == 37 and isinstance(card["utilization_percent"], int)
    assert card["temperature_c"] == 55 and isinstance(card["temperature_c"], int)


def test_one_failing_device_does_not_hide_the_others(monkeypatch):
    result = snapshot(monkeypatch, [{"handle_error": "GPU is lost"}, {"used": 10}])
    assert result["available"] is True
    assert result["gpus"][0] == {"index": 0, "error": "GPU is lost"}
    assert result["gpus"][1]["memory_used_mb"] == 10


def test_no_devices_is_unavailable_with_a_reason(monkeypatch):
    assert snapshot(monkeypatch, []) == {"available": False, "reason": "NVML reports no GPU", "gpus": []}


def test_a_failing_device_count_is_unavailable(monkeypatch):
    nvml = FakeNvml([{}])
    nvml.nvmlDeviceGetCount = lambda: (_ for _ in ()).throw(RuntimeError("driver mismatch"))
    monkeypatch.setattr(gpu, "_ensure_nvml", lambda: nvml)
    result = gpu.gpu_snapshot()
    assert result["available"] is False and "driver mismatch" in result["reason"]


def test_a_missing_library_is_unavailable_not_raised(monkeypatch):
    def no_library():
        raise ImportError("No module named 'pynvml'")

    monkeypatch.setattr(gpu, "_ensure_nvml", no_library)
    result = gpu.gpu_snapshot({1})
    assert result == {"available": False, "reason": "NVML not available: No module named 'pynvml'", "gpus": []}


# --- initialisation ----------------------------------------------------------------------------


@pytest.fixture
def fake_pynvml(monkeypatch):
    """A fake `pynvml` module in sys.modules, counting nvmlInit calls."""
    module = ModuleType("pynvml")
    module.init_calls = 0

    def init():
        module.init_calls += 1

    module.nvmlInit = init
    monkeypatch.setitem(sys.modules, "pynvml", module)
    monkeypatch.setattr(gpu, "_initialised", False)
    return module


def test_nvml_is_initialised_once(fake_pynvml):
    assert gpu._ensure_nvml() is fake_pynvml
    assert gpu._ensure_nvml() is fake_pynvml
    assert fake_pynvml.init_calls == 1


def test_nvml_is_initialised_once_under_concurrent_first_calls(fake_pynvml):
    start = threading.Barrier(8)

    def first_call():
        start.wait()
        gpu._ensure_nvml()

    threads = [threading.Thread(target=first_call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert fake_pynvml.init_calls == 1


def test_a_failed_init_is_retried_on_the_next_call(fake_pynvml):
    """A driver that comes up later (container start order) is picked up by a later snapshot."""
    calls = []

    def flaky_init():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("NVML_ERROR_DRIVER_NOT_LOADED")

    fake_pynvml.nvmlInit = flaky_init
    first = gpu.gpu_snapshot()
    assert first["available"] is False and "DRIVER_NOT_LOADED" in first["reason"]
    fake_pynvml.nvmlDeviceGetCount = lambda: 0
    assert gpu.gpu_snapshot()["reason"] == "NVML reports no GPU"
    assert len(calls) == 2
