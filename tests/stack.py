"""Starting the real stack for tests: Ray, Serve, the app from serve_config.yaml on CPU."""

from __future__ import annotations

import os
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from deployments.protocol import ASR_0_6B, ASR_1_7B
from deployments.tiny import ALIGNER_SCRIPTED, SCRIPTED_SLOTS, scripted_text
from serve_app import deploy_config
from serve_app.launcher import FAST_METRICS_ENV

ROOT = Path(__file__).resolve().parents[1]
MAIN_APP = "qwen3-asr"
LIFECYCLE_APP = "lifecycle"
LIFECYCLE_PREFIX = "/lc"
LIFECYCLE_IDLE_S = 6.0
LIFECYCLE_MAX_TRANSCRIPTIONS = 4
LIFECYCLE_STREAM_IDLE_S = 3.0
LIFECYCLE_STREAM_SESSIONS = 2
AUTH_APP = "auth"
AUTH_PREFIX = "/auth"
AUTH_KEY = "auth-stack-key-5b1e"
CAPPED_APP = "streamcap"
CAPPED_PREFIX = "/sc"
CAPPED_SLOTS = 4  # the capped app's Ingress max_ongoing_requests: its stream session limit becomes 2
PREFIXES = {MAIN_APP: "", LIFECYCLE_APP: LIFECYCLE_PREFIX, AUTH_APP: AUTH_PREFIX, CAPPED_APP: CAPPED_PREFIX}
APPS = tuple(PREFIXES)
UI_PIECE_SECONDS = 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def expected_text(model: str, language: str | None = None, context: str = "") -> str:
    """What the scripted checkpoint in `model`'s slot says (canonical language name, or None = auto)."""
    return scripted_text(SCRIPTED_SLOTS[model], language, context)


def tiny_args(tiny: dict[str, str]) -> dict:
    # Each slot says its own sentence: a request routed to the wrong model gives the other's words.
    return {
        "model_1_7b_source": tiny[SCRIPTED_SLOTS[ASR_1_7B]],
        "model_0_6b_source": tiny[SCRIPTED_SLOTS[ASR_0_6B]],
        "aligner_source": tiny[ALIGNER_SCRIPTED],  # word times placed over the speech
        "device": "cpu",
        "dtype": "float32",
        "max_new_tokens": 16,
        "torch_threads": 1,
        "batch_wait_timeout_s": 0.05,
        "max_upload_mb": 2,
        "release_wait_s": 45,
        "switch_wait_s": 45,
        # Both ASR models stay warm, so tests that alternate models pay no cold start each time.
        # The switch policy (on in serve_config.yaml) is exercised on the auth app.
        "release_other_on_switch": False,
        # The main app runs as the demo does (the same scripted checkpoints, found by folder), so
        # /health and the UI report demo: true; the lifecycle app (random weights) is not a demo.
        "demo": True,
        "tiny_models_dir": str(Path(tiny[ALIGNER_SCRIPTED]).parent),
        # A minute of audio (the 2 MB upload limit) is three pieces: the UI's progress has steps.
        "asr_piece_seconds": UI_PIECE_SECONDS,
    }


def test_config(tiny: dict[str, str], port: int) -> dict:
    """serve_config.yaml with a CPU override, tiny checkpoints, plus a short-idle second app."""
    config = deploy_config.load_config()
    config["http_options"] = {"host": "127.0.0.1", "port": port}
    config = deploy_config.without_gpus(config)
    config = deploy_config.with_args(config, **tiny_args(tiny))
    main = config["applications"][0]
    lifecycle = deploy_config.with_idle_timeout({
        **main,
        "name": LIFECYCLE_APP,
        "route_prefix": LIFECYCLE_PREFIX,
        # Random weights for the 1.7B slot: deterministic junk, for parity with a direct call.
        # torch_threads 0: threads follow the CPUs the replica is given (here every core).
        "args": {**main["args"], "release_other_on_switch": False, "demo": False,
                 "torch_threads": 0,
                 "model_1_7b_source": tiny["asr-random"],
                 # long audio comes back whole from several pieces; tiny queues show backpressure
                 "asr_piece_seconds": 8, "align_piece_seconds": 8,
                 "model_max_ongoing_requests": 2, "model_max_queued_requests": 2,
                 # admission control: a fifth concurrent transcription is refused with 503 at once
                 "max_transcriptions_in_flight": LIFECYCLE_MAX_TRANSCRIPTIONS,
                 # streaming deadlines short enough to watch, and two sessions to fill
                 "stream_idle_timeout_s": LIFECYCLE_STREAM_IDLE_S, "stream_start_timeout_s": LIFECYCLE_STREAM_IDLE_S,
                 "stream_max_sessions": LIFECYCLE_STREAM_SESSIONS},
    }, LIFECYCLE_IDLE_S)
    config["applications"].append(lifecycle)
    config["applications"].append(auth_app(main))
    config["applications"].append(capped_app(main))
    return config


def auth_app(main: dict) -> dict:
    """The main app again, with an API key (key protection through the real Serve proxy) and the
    switch policy of serve_config.yaml: a new ASR model releases the other one first."""
    return {**main, "name": AUTH_APP, "route_prefix": AUTH_PREFIX,
            "args": {**main["args"], "api_key": AUTH_KEY, "release_other_on_switch": True}}


def capped_app(main: dict) -> dict:
    """The main app with an Ingress of only CAPPED_SLOTS slots, set in its args as an operator
    would in serve_config.yaml."""
    return {**main, "name": CAPPED_APP, "route_prefix": CAPPED_PREFIX,
            "args": {**main["args"], "max_ongoing_requests": CAPPED_SLOTS}}


@dataclass
class Stack:
    base_url: str
    port: int
    tiny: dict[str, str]
    config: dict = field(default_factory=dict)
    metrics_url: str = ""  # Ray's Prometheus export endpoint of this one-node cluster

    def url(self, path: str, app: str = MAIN_APP) -> str:
        return f"{self.base_url}{PREFIXES[app]}{path}"

    def ws_url(self, path: str, app: str = MAIN_APP) -> str:
        return self.url(path, app).replace("http://", "ws://", 1)


def start_stack(tiny: dict[str, str]) -> Stack:
    import ray

    for key, value in FAST_METRICS_ENV.items():
        os.environ[key] = value
    # A private local cluster: never attach to someone else's Ray (RAY_ADDRESS, `ray start`).
    metrics_port = free_port()
    ray.init(address="local", num_cpus=4, include_dashboard=False, log_to_driver=False,
             _temp_dir=tempfile.mkdtemp(prefix="ray-t-"), _metrics_export_port=metrics_port)
    try:
        port = free_port()
        config = test_config(tiny, port)
        deploy_config.deploy(config)
        for app in APPS:
            deploy_config.wait_until_running(app, timeout_s=600)
        stack = Stack(f"http://127.0.0.1:{port}", port, tiny, config, f"http://127.0.0.1:{metrics_port}/metrics")
        wait_http(stack.url("/health"))
    except BaseException:
        stop_stack()
        raise
    return stack


def wait_http(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError(url)


def stop_stack() -> None:
    import ray
    from ray import serve

    try:
        serve.shutdown()
    finally:
        ray.shutdown()
