"""serve_config.yaml: valid for Ray's schema, fits one L40S, and redeploys in place."""

from __future__ import annotations

import copy
import time

import httpx
import pytest

from serve_app import deploy_config
from tests.stack import LIFECYCLE_APP, MAIN_APP


def test_production_config_passes_rays_schema():
    schema = deploy_config.validate(deploy_config.load_config())
    app = schema.applications[0]
    assert app.import_path == "serve_app.builder:build_app"
    assert schema.http_options.port == 8200


def test_fractional_gpus_fit_one_card_with_headroom():
    config = deploy_config.load_config()
    gpus = {d["name"]: d["ray_actor_options"].get("num_gpus", 0) for d in config["applications"][0]["deployments"]}
    assert 0 < gpus["Qwen3ASR-0.6B"] < gpus["Qwen3ASR-1.7B"] < 1
    assert 0 < gpus["ForcedAligner"] < 1
    assert sum(gpus.values()) <= 0.9


def test_builder_gives_every_model_scale_to_zero_autoscaling():
    from serve_app.builder import autoscaling_config
    from serve_app.settings import Settings

    config = autoscaling_config(Settings(idle_timeout_s=42))
    assert config["min_replicas"] == 0 and config["initial_replicas"] == 0
    assert config["downscale_to_zero_delay_s"] == 0
    assert config["policy"]["policy_kwargs"] == {"idle_timeout_s": 42}


def test_every_models_autoscaling_in_the_yaml_is_the_builders_default():
    """serve_config.yaml shows each model's autoscaling (the operator's truth); the builder's
    defaults for the same args must be exactly that, so a config without it behaves the same."""
    from serve_app.builder import autoscaling_config
    from serve_app.settings import Settings

    app = deploy_config.resolved(deploy_config.load_config())["applications"][0]
    models = [d for d in app["deployments"] if d["name"] in deploy_config.MODEL_DEPLOYMENTS]
    assert {d["name"] for d in models} == set(deploy_config.MODEL_DEPLOYMENTS)
    expected = autoscaling_config(Settings(**app["args"]))
    for deployment in models:
        assert deployment["autoscaling_config"] == expected, deployment["name"]
    assert app["args"]["idle_timeout_s"] == 600, "the ingress reports the policy's idle timeout"


def test_the_idle_timeout_is_set_once():
    config = deploy_config.load_config()
    app = config["applications"][0]
    assert "idle_timeout_s" not in app["args"], "set in the models' policy, not twice"
    app["args"]["idle_timeout_s"] = 30
    with pytest.raises(deploy_config.ConfigError, match="idle_timeout_s"):
        deploy_config.resolved(config)
    app["args"].pop("idle_timeout_s")
    app["deployments"][0]["autoscaling_config"]["policy"]["policy_kwargs"]["idle_timeout_s"] = 30
    with pytest.raises(deploy_config.ConfigError, match="different idle_timeout_s"):
        deploy_config.resolved(config)


def test_with_idle_timeout_sets_the_policy_and_the_arg_of_a_copy():
    original = deploy_config.load_config()["applications"][0]
    short = deploy_config.with_idle_timeout(original, 6.0)
    resolved = deploy_config.resolved({"applications": [short]})["applications"][0]
    assert resolved["args"]["idle_timeout_s"] == 6.0
    assert all(d["autoscaling_config"]["policy"]["policy_kwargs"] == {"idle_timeout_s": 6.0}
               for d in short["deployments"] if d["name"] in deploy_config.MODEL_DEPLOYMENTS)
    assert original["deployments"][0]["autoscaling_config"]["policy"]["policy_kwargs"] == {"idle_timeout_s": 600}


def test_production_config_releases_the_other_model_on_a_switch():
    # The test stack turns this off for speed (tests/stack.py) and tests the policy on its auth app.
    assert deploy_config.load_config()["applications"][0]["args"]["release_other_on_switch"] is True


def test_cpu_override_asks_for_no_gpu():
    config = deploy_config.without_gpus(deploy_config.load_config())
    for deployment in config["applications"][0]["deployments"]:
        assert deployment["ray_actor_options"]["num_gpus"] == 0


def status(stack, app):
    return httpx.get(stack.url("/api/status", app), timeout=30).json()


def test_redeploying_an_edited_config_takes_effect_in_place(stack, audio):
    with open(audio["speech_en"], "rb") as handle:
        assert httpx.post(stack.url("/api/transcribe"), files={"file": ("a.wav", handle)},
                          data={"model": "qwen3-asr-1.7b"}, timeout=180).status_code == 200
    main_before = status(stack, MAIN_APP)["models"]["qwen3-asr-1.7b"]
    assert main_before["replicas"] == 1

    edited = copy.deepcopy(stack.config)
    index = next(i for i, a in enumerate(edited["applications"]) if a["name"] == LIFECYCLE_APP)
    edited["applications"][index] = lifecycle = deploy_config.with_idle_timeout(edited["applications"][index], 9.0)
    lifecycle["args"]["batch_max_size"] = 3
    try:
        deploy_config.deploy(edited)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                config = status(stack, LIFECYCLE_APP)["config"]
                if config["idle_timeout_s"] == 9.0 and config["batch_max_size"] == 3:
                    break
            except (httpx.HTTPError, KeyError, ValueError):
                pass
            time.sleep(1)
        else:
            pytest.fail("the edited config did not take effect")
        main_after = status(stack, MAIN_APP)["models"]["qwen3-asr-1.7b"]
        # the other application kept its loaded model: nothing else restarted
        assert main_after["replicas"] == 1 and main_after["loaded_at"] == main_before["loaded_at"]
    finally:
        deploy_config.deploy(stack.config)
        deploy_config.wait_until_running(LIFECYCLE_APP, timeout_s=180)
