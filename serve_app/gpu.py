"""GPU memory and load through NVML; a plain answer, never an exception, without a GPU."""

from __future__ import annotations

import threading
from collections.abc import Mapping

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


def _memory_by_pid(nvml, handle) -> dict[int, int]:
    """Bytes each process holds on the card, over its compute and graphics contexts (NVML
    reports None for a process it cannot measure, e.g. under MIG or without permission)."""
    held: dict[int, int] = {}
    for getter in ("nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetGraphicsRunningProcesses"):
        try:
            for process in getattr(nvml, getter)(handle):
                if process.usedGpuMemory:
                    held[process.pid] = held.get(process.pid, 0) + process.usedGpuMemory
        except Exception:
            continue
    return held


def _model_memory(held: dict[int, int], model_pids: Mapping[str, set[int]]) -> dict[str, int]:
    """MB per model on one card (models with nothing there are left out)."""
    memory = {model: _mb(sum(held.get(pid, 0) for pid in pids)) for model, pids in model_pids.items()}
    return {model: mb for model, mb in memory.items() if mb > 0}


def gpu_snapshot(model_pids: Mapping[str, set[int]] | None = None) -> dict:
    """Per GPU: name, memory (MB), utilisation, temperature, and what this service's model
    processes (`model_pids`: model id -> its replicas' pids) hold there, in all and per model."""
    try:
        nvml = _ensure_nvml()
        count = nvml.nvmlDeviceGetCount()
    except Exception as exc:  # no driver, no library, no device
        return {"available": False, "reason": f"NVML not available: {exc}", "gpus": []}
    service_pids = set().union(*model_pids.values()) if model_pids else set()
    gpus = []
    for index in range(count):
        try:
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            memory = nvml.nvmlDeviceGetMemoryInfo(handle)
            name = nvml.nvmlDeviceGetName(handle)
            held = _memory_by_pid(nvml, handle)
            entry = {
                "index": index,
                "name": name.decode() if isinstance(name, bytes) else str(name),
                "memory_total_mb": _mb(memory.total),
                "memory_used_mb": _mb(memory.used),
                "memory_free_mb": _mb(memory.free),
                "utilization_percent": None,
                "temperature_c": None,
                "service_memory_mb": _mb(sum(held.get(pid, 0) for pid in service_pids)),
                "model_memory_mb": _model_memory(held, model_pids or {}),
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
