"""GPU memory and load through NVML; a plain answer, never an exception, without a GPU."""

from __future__ import annotations

import threading

_init_lock = threading.Lock()
_initialised = False


def _ensure_nvml():
    global _initialised
    import pynvml

    with _init_lock:
        if not _initialised:
            pynvml.nvmlInit()
            _initialised = True
    return pynvml


def _mb(value: int) -> int:
    return int(value // (1024 * 1024))


def _process_memory(nvml, handle, pids: set[int]) -> int:
    total = 0
    for getter in ("nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetGraphicsRunningProcesses"):
        try:
            for process in getattr(nvml, getter)(handle):
                if process.pid in pids and process.usedGpuMemory:
                    total += process.usedGpuMemory
        except Exception:
            continue
    return _mb(total)


def gpu_snapshot(service_pids: set[int] | None = None) -> dict:
    """Per GPU: name, memory (MB), utilisation, temperature, and this service's share."""
    try:
        nvml = _ensure_nvml()
        count = nvml.nvmlDeviceGetCount()
    except Exception as exc:  # no driver, no library, no device
        return {"available": False, "reason": f"NVML not available: {exc}", "gpus": []}
    gpus = []
    for index in range(count):
        try:
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            memory = nvml.nvmlDeviceGetMemoryInfo(handle)
            name = nvml.nvmlDeviceGetName(handle)
            entry = {
                "index": index,
                "name": name.decode() if isinstance(name, bytes) else str(name),
                "memory_total_mb": _mb(memory.total),
                "memory_used_mb": _mb(memory.used),
                "memory_free_mb": _mb(memory.free),
                "utilization_percent": None,
                "temperature_c": None,
                "service_memory_mb": _process_memory(nvml, handle, service_pids or set()),
            }
            try:
                entry["utilization_percent"] = int(nvml.nvmlDeviceGetUtilizationRates(handle).gpu)
                entry["temperature_c"] = int(nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU))
            except Exception:
                pass
            gpus.append(entry)
        except Exception as exc:
            gpus.append({"index": index, "error": str(exc)})
    if not gpus:
        return {"available": False, "reason": "NVML reports no GPU", "gpus": []}
    return {"available": True, "gpus": gpus}
