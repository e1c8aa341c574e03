"""serve_app/deploy_config.py without Ray running: validation, copies, deploy and the wait loop
(with a fake `serve`), and the builder's pure helpers (demo settings, load options)."""

from __future__ import annotations

import copy
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from pydantic import ValidationError

from deployments.tiny import ALIGNER_SCRIPTED, SCRIPTED_SLOTS
from serve_app import builder, deploy_config
from serve_app.settings import Settings


def one_app_config(**app) -> dict:
    return {"applications": [{"name": "a", "route_prefix": "/", "import_path": "serve_app.builder:build_app",
                              "args": {}, **app}]}


# --- load, validate, adapt ---------------------------------------------------------------------


def test_load_config_reads_any_path(tmp_path):
    path = tmp_path / "serve.yaml"
    path.write_text(yaml.safe_dump(one_app_config(args={"idle_timeout_s": 5})))
    assert deploy_config.load_config(path)["applications"][0]["args"] == {"idle_timeout_s": 5}


def test_validate_refuses_what_serve_deploy_would_refuse():
    with pytest.raises(ValidationError, match="import path"):
        deploy_config.validate({"applications": [{"name": "a", "import_path": "not_an_import_path"}]})
    with pytest.raises(ValidationError):
        deploy_config.validate({"applications": [{"name": "a", "import_path": "serve_app.builder:build_app",
                                                  "deployments": [{"name": "X", "max_ongoing_requests": 0}]}]})


def test_validate_refuses_the_ingress_slots_under_deployments():
    """The Ingress's slots size its stream and upload limits, so they are an arg: under deployments
    Serve would apply them while those limits never saw them."""
    config = one_app_config(deployments=[{"name": "Ingress", "max_ongoing_requests": 4}])
    with pytest.raises(deploy_config.ConfigError, match="under args"):
        deploy_config.validate(config)
    deploy_config.validate(one_app_config(args={"max_ongoing_requests": 4}))
    deploy_config.validate(deploy_config.load_config())  # serve_config.yaml itself follows the rule


def test_validate_refuses_two_apps_on_one_prefix():
    config = one_app_config()
    config["applications"].append({**config["applications"][0], "name": "b"})
    with pytest.raises(ValidationError):
        deploy_config.validate(config)


def test_without_gpus_leaves_the_original_alone_and_adds_missing_options():
    original = one_app_config(deployments=[{"name": "Qwen3ASR-1.7B"},
                                           {"name": "Ingress", "ray_actor_options": {"num_gpus": 1, "memory": 5}}])
    before = copy.deepcopy(original)
    edited = deploy_config.without_gpus(original)
    assert original == before
    options = [d["ray_actor_options"] for d in edited["applications"][0]["deployments"]]
    assert options == [{"num_gpus": 0, "num_cpus": 0}, {"num_gpus": 0, "num_cpus": 0, "memory": 5}]


def test_without_gpus_accepts_apps_without_deployments():
    assert deploy_config.without_gpus(one_app_config())["applications"][0].get("deployments") is None


def test_with_args_creates_args_and_copies():
    config = {"applications": [{"name": "a"}, {"name": "b", "args": {"x": 1}}]}
    edited = deploy_config.with_args(config, api_key="k")
    assert [app["args"] for app in edited["applications"]] == [{"api_key": "k"}, {"x": 1, "api_key": "k"}]
    assert "args" not in config["applications"][0]


def test_with_http_keeps_other_http_options():
    config = {"http_options": {"host": "0.0.0.0", "port": 8200, "request_timeout_s": 900}, "applications": []}
    edited = deploy_config.with_http(config, Settings(http_host="127.0.0.1", http_port=8300))
    assert edited["http_options"] == {"host": "127.0.0.1", "port": 8300, "request_timeout_s": 900}
    assert config["http_options"]["port"] == 8200


# --- deploy and wait, with a fake serve --------------------------------------------------------


class FakeServe:
    """`serve.status()` answering from a script of per-app statuses; counts the calls."""

    def __init__(self, script: list[dict[str, tuple[str, str]]]) -> None:
        self.script = script
        self.calls = 0
        self.started_with = None

    def status(self):
        step = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        return SimpleNamespace(applications={name: SimpleNamespace(status=s, message=m)
                                             for name, (s, m) in step.items()})

    def start(self, http_options):
        self.started_with = http_options


@pytest.fixture
def fake_serve(monkeypatch):
    def install(script):
        fake = FakeServe(script)
        monkeypatch.setattr(deploy_config, "serve", fake)
        monkeypatch.setattr(deploy_config.time, "sleep", lambda s: None)
        return fake
    return install


def test_wait_returns_once_the_app_runs(fake_serve):
    fake = fake_serve([{}, {"a": ("DEPLOYING", "")}, {"a": ("RUNNING", "")}])
    deploy_config.wait_until_running("a", timeout_s=60)
    assert fake.calls == 3


@pytest.mark.parametrize("state", ["DEPLOY_FAILED", "UNHEALTHY"])
def test_wait_fails_fast_with_serves_message(fake_serve, state):
    fake = fake_serve([{"a": ("DEPLOYING", "")}, {"a": (state, "ImportError: no module named qwen_asr")}])
    with pytest.raises(RuntimeError) as caught:
        deploy_config.wait_until_running("a", timeout_s=60)
    assert state in str(caught.value) and "qwen_asr" in str(caught.value)
    assert fake.calls == 2


def test_wait_times_out_naming_the_last_status(fake_serve, monkeypatch):
    fake_serve([{"a": ("DEPLOYING", "")}])
    clock = iter(range(0, 1000, 10))
    monkeypatch.setattr(deploy_config.time, "monotonic", lambda: next(clock))
    with pytest.raises(TimeoutError, match="not RUNNING after 30.*DEPLOYING"):
        deploy_config.wait_until_running("a", timeout_s=30)


def test_wait_watches_only_its_own_app(fake_serve):
    fake_serve([{"other": ("DEPLOY_FAILED", "broken"), "a": ("RUNNING", "")}])
    deploy_config.wait_until_running("a", timeout_s=60)


def test_deploy_starts_serve_on_the_configured_address_and_deploys_the_validated_config(fake_serve, monkeypatch):
    fake = fake_serve([{}])
    deployed = []
    client = SimpleNamespace(deploy_apps=deployed.append)
    import ray.serve.context

    monkeypatch.setattr(ray.serve.context, "_get_global_client", lambda: client)
    config = {**one_app_config(), "http_options": {"host": "0.0.0.0", "port": 8200}}
    deploy_config.deploy(config)
    assert fake.started_with == {"host": "0.0.0.0", "port": 8200}
    assert len(deployed) == 1 and deployed[0].applications[0].name == "a"


def test_deploy_defaults_to_localhost(fake_serve, monkeypatch):
    fake = fake_serve([{}])
    import ray.serve.context

    monkeypatch.setattr(ray.serve.context, "_get_global_client", lambda: SimpleNamespace(deploy_apps=lambda s: None))
    deploy_config.deploy(one_app_config())
    assert fake.started_with == {"host": "127.0.0.1", "port": 8000}


def test_deploy_refuses_an_invalid_config_before_deploying(fake_serve, monkeypatch):
    fake_serve([{}])
    import ray.serve.context

    def refuse(_schema):
        pytest.fail("an invalid config must not reach the controller")

    monkeypatch.setattr(ray.serve.context, "_get_global_client", lambda: SimpleNamespace(deploy_apps=refuse))
    with pytest.raises(ValidationError):
        deploy_config.deploy({"applications": [{"name": "a", "import_path": "bad"}]})


# --- the builder's helpers ---------------------------------------------------------------------


def test_demo_settings_point_at_the_tiny_checkpoints_on_the_cpu(tmp_path):
    demo = builder.demo_settings(Settings(tiny_models_dir=str(tmp_path / "tiny"), max_new_tokens=512,
                                          device="cuda", dtype="bfloat16", idle_timeout_s=9))
    # Each slot gets its own scripted checkpoint, so the demo shows which model answered.
    assert demo.model_1_7b_source == str(tmp_path / "tiny" / SCRIPTED_SLOTS["qwen3-asr-1.7b"])
    assert demo.model_0_6b_source == str(tmp_path / "tiny" / SCRIPTED_SLOTS["qwen3-asr-0.6b"])
    assert demo.aligner_source == str(tmp_path / "tiny" / ALIGNER_SCRIPTED)  # word times follow the audio
    assert (demo.device, demo.dtype, demo.max_new_tokens) == ("cpu", "float32", 16)
    assert demo.idle_timeout_s == 9  # everything else is kept


def test_demo_settings_resolve_a_relative_folder_and_keep_a_smaller_token_budget(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    demo = builder.demo_settings(Settings(tiny_models_dir="cache/tiny", max_new_tokens=4))
    assert Path(demo.aligner_source).is_absolute()
    assert demo.aligner_source == str(tmp_path.resolve() / "cache" / "tiny" / ALIGNER_SCRIPTED)
    assert demo.max_new_tokens == 4


def test_load_options_carry_the_inference_settings():
    s = Settings(device="cpu", dtype="float16", attn_implementation="sdpa", max_new_tokens=64, batch_max_size=3)
    assert builder.load_options(s, "/models/x") == {
        "source": "/models/x", "device": "cpu", "dtype": "float16", "attn_implementation": "sdpa",
        "max_new_tokens": 64, "max_batch_size": 3}


def test_autoscaling_targets_one_batch_per_replica_and_one_replica_at_most():
    config = builder.autoscaling_config(Settings(batch_max_size=5))
    assert config["target_ongoing_requests"] == 5
    assert config["max_replicas"] == 1 and config["upscale_delay_s"] == 0
    assert config["policy"]["policy_function"] == builder.POLICY
    module, name = builder.POLICY.split(":")
    assert callable(getattr(__import__(module, fromlist=[name]), name))
