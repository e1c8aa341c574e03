"""Replica health checks notice a wedged model, not only a dead process.

The real ASR and aligner deployment classes (without Serve) run a batch on an engine that
blocks until released; `check_health()` must fail while that call outlives
`model_call_timeout_s`, and pass again once it returns.
"""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from deployments.aligner import AlignerDeployment
from deployments.asr import AsrDeployment
from deployments.protocol import (
    DEFAULT_MODEL_CALL_TIMEOUT_S,
    AlignRequest,
    AsrRequest,
    WordTime,
)
from serve_app.builder import model_user_config
from serve_app.settings import Settings

TIMEOUT_S = 0.2
# Serve awaits a replica's async __del__; instances made here are only garbage-collected.
pytestmark = pytest.mark.filterwarnings("ignore:coroutine 'ModelReplica.__del__' was never awaited:RuntimeWarning")


class NoRegistry:
    """Heartbeats are not under test here."""


class BlockingEngine:
    """Answers only when the test lets it: a stand-in for a GPU kernel that never returns."""

    dtype = "float32"
    device = "cpu"

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def _block(self) -> None:
        self.entered.set()
        assert self.release.wait(30), "the test never released the engine"

    def transcribe(self, requests):
        self._block()
        return [("English", "hello") for _ in requests]

    def align(self, audios, texts, languages):
        self._block()
        return [[WordTime("hello", 0.0, 0.5)] for _ in audios]


def replica(cls, engine: BlockingEngine, timeout_s: float | None = TIMEOUT_S):
    """The deployment class's instance as `_start` leaves it, with `reconfigure` from user_config."""
    instance = object.__new__(cls.func_or_class)
    instance._begin("m", NoRegistry())
    instance.lifecycle.mark_loaded()
    instance.engine = engine
    config = {"batch_max_size": 4, "batch_max_audio_seconds": 60, "batch_wait_timeout_s": 0.0}
    if timeout_s is not None:
        config["model_call_timeout_s"] = timeout_s
    instance.reconfigure(config)
    return instance


async def wedge_then_recover(instance, engine: BlockingEngine, call) -> None:
    await instance.check_health()  # nothing running: healthy
    task = asyncio.ensure_future(call())
    assert await asyncio.to_thread(engine.entered.wait, 10)
    await instance.check_health()  # a call that has only just started is not wedged
    await asyncio.sleep(TIMEOUT_S * 2)
    with pytest.raises(RuntimeError, match="wedged"):
        await instance.check_health()
    engine.release.set()
    await asyncio.wait_for(task, 10)
    await instance.check_health()  # the call came back: healthy again


async def test_asr_replica_is_unhealthy_while_a_model_call_outlives_the_timeout():
    engine = BlockingEngine()
    instance = replica(AsrDeployment, engine)
    request = AsrRequest(audio=np.zeros(16_000, dtype=np.float32))
    await wedge_then_recover(instance, engine, lambda: instance.transcribe(request))


async def test_aligner_replica_is_unhealthy_while_a_model_call_outlives_the_timeout():
    engine = BlockingEngine()
    instance = replica(AlignerDeployment, engine)
    request = AlignRequest(audio=np.zeros(16_000, dtype=np.float32), text="hello", language="English")
    # A lone request takes the fast path past @serve.batch, whose queue needs a replica context.
    await wedge_then_recover(instance, engine, lambda: instance.align(request))


async def test_a_slow_call_inside_the_timeout_is_healthy():
    engine = BlockingEngine()
    instance = replica(AsrDeployment, engine, timeout_s=60)
    task = asyncio.ensure_future(instance.transcribe(AsrRequest(audio=np.zeros(16_000, dtype=np.float32))))
    assert await asyncio.to_thread(engine.entered.wait, 10)
    await asyncio.sleep(TIMEOUT_S * 2)
    await instance.check_health()
    engine.release.set()
    await asyncio.wait_for(task, 10)


async def test_a_replica_still_constructing_is_healthy():
    instance = object.__new__(AsrDeployment.func_or_class)  # Serve may ask before __init__ got far
    await instance.check_health()


def test_a_replica_without_the_setting_uses_the_default():
    instance = replica(AsrDeployment, BlockingEngine(), timeout_s=None)
    assert instance.model_call_timeout_s == DEFAULT_MODEL_CALL_TIMEOUT_S


def test_the_setting_travels_to_the_replicas_in_user_config():
    config = model_user_config(Settings(model_call_timeout_s=42))
    instance = replica(AsrDeployment, BlockingEngine(), timeout_s=None)
    instance.reconfigure(config)
    assert instance.model_call_timeout_s == 42


def test_the_setting_must_be_positive():
    with pytest.raises(ValueError):
        Settings(model_call_timeout_s=0)
