"""Read serve_config.yaml, adapt it to this machine, and deploy it the way `serve deploy` does."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import yaml
from ray import serve
from ray.serve.schema import ServeDeploySchema

from deployments.protocol import DEPLOYMENT_NAMES
from serve_app.settings import Settings

MODEL_DEPLOYMENTS = tuple(DEPLOYMENT_NAMES.values())

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "serve_config.yaml"


def load_config(path: Path = DEFAULT_CONFIG) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        # Through JSON: YAML anchors (one autoscaling block for every model) become separate copies.
        return json.loads(json.dumps(yaml.safe_load(handle)))


class ConfigError(ValueError):
    """A serve config this service cannot run as written."""


def validate(config: dict[str, Any]) -> ServeDeploySchema:
    """Ray's own schema (the same check `serve deploy` makes), and this service's own rule: the
    Ingress's slots are the `max_ongoing_requests` arg, which also sizes the streaming and upload
    limits; set under `deployments:` Serve would apply it while those limits never saw it."""
    for app in config.get("applications", []):
        for deployment in app.get("deployments", []):
            if deployment.get("name") == "Ingress" and "max_ongoing_requests" in deployment:
                raise ConfigError(f"application {app.get('name')!r}: set the Ingress's max_ongoing_requests under "
                                  "args (max_ongoing_requests: N), not under deployments")
    return ServeDeploySchema.model_validate(config)


def _idle_policies(app: dict[str, Any]) -> list[dict[str, Any]]:
    """The idle-release policy kwargs of the app's model deployments that set an autoscaling policy."""
    return [d["autoscaling_config"]["policy"].setdefault("policy_kwargs", {})
            for d in app.get("deployments", [])
            if d.get("name") in MODEL_DEPLOYMENTS and (d.get("autoscaling_config") or {}).get("policy")]


def resolved(config: dict[str, Any]) -> dict[str, Any]:
    """The config with each app's `idle_timeout_s` arg taken from its models' autoscaling policy,
    where serve_config.yaml sets it: one value, which the policy enforces and the ingress reports.
    An arg that disagrees with the policy, or models whose policies disagree, are refused."""
    config = copy.deepcopy(config)
    for app in config.get("applications", []):
        timeouts = {kwargs.get("idle_timeout_s") for kwargs in _idle_policies(app)}
        if not timeouts:
            continue
        if len(timeouts) > 1:
            raise ConfigError(f"application {app.get('name')!r}: the model deployments' policies set different "
                              f"idle_timeout_s values {sorted(map(str, timeouts))}; set one")
        (timeout,) = timeouts
        args = app.setdefault("args", {})
        if "idle_timeout_s" in args and args["idle_timeout_s"] != timeout:
            raise ConfigError(f"application {app.get('name')!r}: args idle_timeout_s ({args['idle_timeout_s']}) "
                              f"disagrees with the models' autoscaling policy ({timeout}); set it once, in the "
                              "policy's policy_kwargs")
        if timeout is not None:
            args["idle_timeout_s"] = timeout
    return config


def with_idle_timeout(app: dict[str, Any], seconds: float) -> dict[str, Any]:
    """A copy of one application whose models unload after `seconds` idle (policy and args alike)."""
    app = copy.deepcopy(app)
    for kwargs in _idle_policies(app):
        kwargs["idle_timeout_s"] = seconds
    app.setdefault("args", {})["idle_timeout_s"] = seconds
    return app


def without_gpus(config: dict[str, Any]) -> dict[str, Any]:
    """CPU machines: model replicas ask for no GPU (and no CPU slot, so all fit on 2 cores)."""
    config = copy.deepcopy(config)
    for app in config.get("applications", []):
        for deployment in app.get("deployments", []):
            options = deployment.setdefault("ray_actor_options", {})
            options["num_gpus"] = 0
            options["num_cpus"] = 0
    return config


def with_args(config: dict[str, Any], **args: Any) -> dict[str, Any]:
    config = copy.deepcopy(config)
    for app in config.get("applications", []):
        app.setdefault("args", {}).update(args)
    return config


def with_http(config: dict[str, Any], settings: Settings) -> dict[str, Any]:
    config = copy.deepcopy(config)
    config.setdefault("http_options", {}).update({"host": settings.http_host, "port": settings.http_port})
    return config


def deploy(config: dict[str, Any]) -> None:
    """Deploy (or redeploy) the applications; unchanged deployments keep their replicas."""
    from ray.serve.context import _get_global_client

    http = config.get("http_options", {})
    serve.start(http_options={"host": http.get("host", "127.0.0.1"), "port": http.get("port", 8000)})
    _get_global_client().deploy_apps(validate(resolved(config)))


def wait_until_running(app_name: str, timeout_s: float = 300.0) -> None:
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        app = serve.status().applications.get(app_name)
        last = app.status if app else None
        if last == "RUNNING":
            return
        if last in ("DEPLOY_FAILED", "UNHEALTHY"):
            raise RuntimeError(f"application {app_name} is {last}: {app.message}")
        time.sleep(0.5)
    raise TimeoutError(f"application {app_name} not RUNNING after {timeout_s}s (last status {last})")
