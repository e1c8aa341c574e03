"""The GPU monitor reports plainly, never raises, without an NVIDIA driver."""

from types import SimpleNamespace

import serve_app.gpu as gpu


def test_no_driver_means_available_false_with_reason():
    snapshot = gpu.gpu_snapshot({"qwen3-asr-1.7b": {1, 2}})
    assert snapshot["available"] is False
    assert snapshot["reason"] and snapshot["gpus"] == []


def test_reads_memory_and_service_share_through_nvml(monkeypatch):
    mib = 1024 * 1024
    fake = SimpleNamespace(
        nvmlDeviceGetCount=lambda: 1,
        nvmlDeviceGetHandleByIndex=lambda i: f"h{i}",
        nvmlDeviceGetMemoryInfo=lambda h: SimpleNamespace(total=46068 * mib, used=5000 * mib, free=41068 * mib),
        nvmlDeviceGetName=lambda h: b"NVIDIA L40S",
        nvmlDeviceGetUtilizationRates=lambda h: SimpleNamespace(gpu=37),
        nvmlDeviceGetTemperature=lambda h, kind: 55,
        NVML_TEMPERATURE_GPU=0,
        nvmlDeviceGetComputeRunningProcesses=lambda h: [SimpleNamespace(pid=11, usedGpuMemory=3000 * mib),
                                                        SimpleNamespace(pid=99, usedGpuMemory=900 * mib)],
        nvmlDeviceGetGraphicsRunningProcesses=lambda h: [],
    )
    monkeypatch.setattr(gpu, "_ensure_nvml", lambda: fake)
    snapshot = gpu.gpu_snapshot({"qwen3-asr-1.7b": {11}})
    assert snapshot["available"] is True
    card = snapshot["gpus"][0]
    assert card["name"] == "NVIDIA L40S" and card["memory_total_mb"] == 46068
    assert card["memory_used_mb"] == 5000 and card["memory_free_mb"] == 41068
    assert card["utilization_percent"] == 37 and card["temperature_c"] == 55
    assert card["service_memory_mb"] == 3000 and card["model_memory_mb"] == {"qwen3-asr-1.7b": 3000}


def test_a_failing_device_query_is_reported_not_raised(monkeypatch):
    def boom(_):
        raise RuntimeError("GPU fell off the bus")

    fake = SimpleNamespace(nvmlDeviceGetCount=lambda: 1, nvmlDeviceGetHandleByIndex=boom)
    monkeypatch.setattr(gpu, "_ensure_nvml", lambda: fake)
    snapshot = gpu.gpu_snapshot()
    assert snapshot["gpus"][0]["error"] == "GPU fell off the bus"
