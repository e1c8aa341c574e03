"""Read serve_config.yaml, adapt it to this machine, and deploy it the way `serve deploy` does."""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

import yaml
from ray import serve
from ray.serve.schema import ServeDeploySchema

from serve_app.settings import Settings

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "serve_config.yaml"


def load_config(path: Path = DEFAULT_CONFIG) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


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
    _get_global_client().deploy_apps(validate(config))


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
