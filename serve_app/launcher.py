"""Run the whole stack in the foreground: Ray head, the Serve app, the MCP server.

`python -m serve_app.launcher [--demo] [--config serve_config.yaml] [--dashboard-host H]`.
SIGINT/SIGTERM stop everything it started; it exits non-zero if Serve or MCP dies.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

logger = logging.getLogger("qwen3-asr.launcher")

# Replicas report load and idle state every second, so release-now and cold starts are quick.
FAST_METRICS_ENV = {
    "RAY_SERVE_REPLICA_AUTOSCALING_METRIC_PUSH_INTERVAL_S": "1",
    "RAY_SERVE_HANDLE_AUTOSCALING_METRIC_PUSH_INTERVAL_S": "1",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run the Qwen3-ASR service in the foreground.")
    parser.add_argument("--demo", action="store_true", help="tiny scripted CPU checkpoints, offline")
    parser.add_argument("--config", type=Path, default=None, help="Serve config (default serve_config.yaml)")
    parser.add_argument("--dashboard-host", default="127.0.0.1", help="Ray dashboard bind address")
    parser.add_argument("--dashboard-port", type=int, default=8265)
    parser.add_argument("--no-mcp", action="store_true", help="do not start the MCP server")
    return parser.parse_args(argv)


def gpu_present() -> bool:
    from serve_app.gpu import gpu_snapshot

    return bool(gpu_snapshot().get("available"))


def start_mcp(settings) -> subprocess.Popen | None:
    try:
        import serve_app.mcp_server  # noqa: F401
    except ImportError:
        logger.warning("MCP server module not available; not starting MCP")
        return None
    # The MCP server talks to this service: follow its port unless an explicit URL was configured.
    api_url = settings.mcp_api_url
    if "mcp_api_url" not in settings.model_fields_set:
        api_url = f"http://127.0.0.1:{settings.http_port}"
    return subprocess.Popen([sys.executable, "-m", "serve_app.mcp_server", "--host", settings.mcp_host,
                             "--port", str(settings.mcp_port), "--api-url", api_url])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for key, value in FAST_METRICS_ENV.items():
        os.environ.setdefault(key, value)
    if args.demo:
        os.environ["QWEN_ASR_DEMO"] = "true"

    import ray
    from ray import serve

    from serve_app import deploy_config
    from serve_app.builder import APP_NAME
    from serve_app.settings import get_settings

    settings = get_settings()
    config = deploy_config.load_config(args.config or deploy_config.DEFAULT_CONFIG)
    config = deploy_config.with_http(config, settings)
    if args.demo or not gpu_present():
        logger.info("no GPU in use: model replicas run on the CPU")
        config = deploy_config.without_gpus(config)
    if args.demo:
        config = deploy_config.with_args(config, demo=True)

    stopping = False

    def request_stop(signum, _frame):
        nonlocal stopping
        logger.info("signal %s: shutting down", signum)
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    # Workers inherit this process's environment (FAST_METRICS_ENV included).
    ray.init(include_dashboard=True, dashboard_host=args.dashboard_host, dashboard_port=args.dashboard_port)
    mcp = None
    code = 0
    try:
        deploy_config.deploy(config)
        deploy_config.wait_until_running(APP_NAME)
        logger.info("UI and API on http://%s:%s  (docs: /docs)", settings.http_host, settings.http_port)
        if not args.no_mcp:
            mcp = start_mcp(settings)
            if mcp:
                logger.info("MCP on http://%s:%s/mcp", settings.mcp_host, settings.mcp_port)
        while not stopping:
            time.sleep(1.0)
            if mcp and mcp.poll() is not None:
                logger.error("MCP server exited with %s", mcp.returncode)
                code = 1
                break
            app = serve.status().applications.get(APP_NAME)
            if app is None or app.status in ("DEPLOY_FAILED", "UNHEALTHY"):
                logger.error("Serve application is %s", app.status if app else "gone")
                code = 1
                break
    except Exception:
        logger.exception("startup failed")
        code = 1
    finally:
        if mcp and mcp.poll() is None:
            mcp.terminate()
            try:
                mcp.wait(timeout=10)
            except subprocess.TimeoutExpired:
                mcp.kill()
        try:
            serve.shutdown()
        finally:
            ray.shutdown()
    return code


if __name__ == "__main__":
    sys.exit(main())
