"""The precision choices the service offers match what it can run: float32 (the CPU's load dtype) is
a request dtype like the others, and /api/status names the dtype a model loads in by default."""

from __future__ import annotations

import pytest

from deployments.protocol import REQUEST_DTYPES, default_dtype


@pytest.mark.parametrize("dtype,device,gpu,expected", [
    ("auto", "auto", False, "float32"),   # CPU-only host: what inference.resolve_dtype loads
    ("auto", "auto", True, "bfloat16"),
    ("auto", "cuda", False, "bfloat16"),  # forced CUDA: the replica loads bfloat16 (NVML may be absent)
    ("auto", "cpu", True, "float32"),     # forced CPU on a GPU host
    ("float16", "auto", False, "float16"),
    ("float32", "cuda", True, "float32"),
])
def test_default_dtype_follows_the_settings_and_the_device(dtype, device, gpu, expected):
    assert default_dtype(dtype, device, gpu) == expected


def test_every_default_is_a_dtype_a_request_may_name():
    for dtype in ("auto", *REQUEST_DTYPES):
        for device in ("auto", "cuda", "cpu"):
            for gpu in (False, True):
                assert default_dtype(dtype, device, gpu) in REQUEST_DTYPES


def test_float32_is_offered_so_a_cpu_client_can_return_to_it():
    assert "float32" in REQUEST_DTYPES
