"""Run the whole stack in the foreground: Ray head, the Serve app, the MCP server.

`python -m serve_app.launcher [--demo] [--config serve_config.yaml] [--dashboard-host H]`.

It supervises what it started: Serve replaces a crashed replica by itself, so an application
that turns UNHEALTHY or DEPLOYING is given `supervisor_grace_s` to come back to RUNNING
(serve_app/supervisor.py decides); past that, or when the MCP server dies, it stops everything
and exits non-zero. SIGINT/SIGTERM stop everything it started and exit 0.

Ray's own ports (GCS, raylet, workers, dashboard agent, metrics) bind to `ray_node_ip`
(127.0.0.1 by default); Serve HTTP binds to `http_host`, MCP to `mcp_host`, the dashboard to
`--dashboard-host`. Ray's processes get a private TMPDIR, removed at exit, so temp files they
leave behind (the dashboard's multiprocessing `pymp-*` folder) do not pile up in /tmp.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

logger = logging.getLogger("qwen3-asr.launcher")

# Replicas report load and idle state every second, so release-now and cold starts are quick.
FAST_METRICS_ENV = {
    "RAY_SERVE_REPLICA_AUTOSCALING_METRIC_PUSH_INTERVAL_S": "1",
    "RAY_SERVE_HANDLE_AUTOSCALING_METRIC_PUSH_INTERVAL_S": "1",
}


class StopRequested(Exception):
    """SIGINT/SIGTERM while the stack is still starting."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run the Qwen3-ASR service in the foreground.")
    parser.add_argument("--demo", action="store_true", help="tiny scripted CPU checkpoints, offline")
    parser.add_argument("--config", type=Path, default=None, help="Serve config (default serve_config.yaml)")
    parser.add_argument("--dashboard-host", default="127.0.0.1", help="Ray dashboard bind address")
    parser.add_argument("--dashboard-port", type=int, default=None,
                        help="Ray dashboard port (default: QWEN_ASR_DASHBOARD_PORT, 8265)")
    parser.add_argument("--no-mcp", action="store_true", help="do not start the MCP server")
    return parser.parse_args(argv)


def gpu_present() -> bool:
    from serve_app.gpu import gpu_snapshot

    return bool(gpu_snapshot().get("available"))


def start_mcp(settings) -> subprocess.Popen:
    import serve_app.mcp_server  # noqa: F401  (a broken install fails here, loudly, not in a child)
    # The MCP server talks to this service: follow its port unless an explicit URL was configured.
    api_url = settings.mcp_api_url
    if "mcp_api_url" not in settings.model_fields_set:
        api_url = f"http://127.0.0.1:{settings.http_port}"
    return subprocess.Popen([sys.executable, "-m", "serve_app.mcp_server", "--host", settings.mcp_host,
                             "--port", str(settings.mcp_port), "--api-url", api_url])


def browse_host(host: str) -> str:
    """Where a browser on this machine reaches a server bound to `host`."""
    return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host


def banner(settings, dashboard_host: str, dashboard_port: int, mcp: bool) -> list[str]:
    """The URLs the service really listens on, from the settings in use."""
    web = f"http://{browse_host(settings.http_host)}:{settings.http_port}"
    lines = [f"UI  {web}/   API docs {web}/docs   (HTTP bound to {settings.http_host}:{settings.http_port})"]
    if mcp:
        lines.append(f"MCP http://{browse_host(settings.mcp_host)}:{settings.mcp_port}/mcp   "
                     f"(bound to {settings.mcp_host}:{settings.mcp_port})")
    lines.append(f"Ray dashboard http://{browse_host(dashboard_host)}:{dashboard_port}/   "
                 f"(bound to {dashboard_host}:{dashboard_port})")
    lines.append(f"Prometheus metrics http://{browse_host(settings.ray_node_ip)}:{settings.metrics_port}/metrics   "
                 f"(bound to {settings.ray_node_ip}:{settings.metrics_port})")
    return lines


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def bind_ray_to(node_ip: str) -> dict:
    """ray.init arguments (and environment) that keep Ray's own ports on `node_ip`.

    `_node_ip_address="127.0.0.1"` alone is not enough: Ray swaps a loopback node IP for the
    machine's address unless RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 (its one-host mode, the default
    on macOS/Windows). In that mode GCS, raylet, every worker's gRPC port, the dashboard agent,
    the runtime-env agent and the metrics exporters all listen on 127.0.0.1. Workers inherit it.
    Call it before `import ray` (Ray reads the variable at import; patched if already imported).
    """
    if node_ip in LOOPBACK:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        node_ip = "127.0.0.1"
        constants = sys.modules.get("ray._private.ray_constants")
        if constants is not None:  # ray already imported: its constant was read from the old env
            constants.ENABLE_RAY_CLUSTER = os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] not in ("0", "false", "False")
    return {"_node_ip_address": node_ip}


def private_tmpdir() -> Path:
    """A TMPDIR for this stack's processes (Ray's session folder stays where it would be)."""
    base = tempfile.gettempdir()
    os.environ.setdefault("RAY_TMPDIR", base)
    path = Path(tempfile.mkdtemp(prefix="qwen3-asr-", dir=base))
    os.environ["TMPDIR"] = str(path)
    tempfile.tempdir = str(path)
    return path


class StatusPoller:
    """serve.status() off the main thread: a controller being restarted must not wedge the loop."""

    def __init__(self, app_name: str, timeout_s: float = 5.0):
        self.app_name = app_name
        self.timeout_s = timeout_s
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="serve-status")
        self._pending: concurrent.futures.Future | None = None

    def _read(self):
        from ray import serve

        app = serve.status().applications.get(self.app_name)
        return (app.status, app.message) if app else (None, "")

    def poll(self):
        """(status, message): status None when the app is gone, UNREACHABLE when no answer came."""
        from serve_app.supervisor import UNREACHABLE

        if self._pending is None:
            self._pending = self._pool.submit(self._read)
        try:
            result = self._pending.result(timeout=self.timeout_s)
        except concurrent.futures.TimeoutError:
            return UNREACHABLE, f"serve.status() gave no answer in {self.timeout_s:g}s"
        except Exception as exc:  # noqa: BLE001 - the controller may be restarting
            self._pending = None
            return UNREACHABLE, f"serve.status() failed: {exc!r}"[:300]
        self._pending = None
        return result

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def supervise(poller: StatusPoller, supervisor, mcp: subprocess.Popen | None, should_stop,
              interval_s: float = 1.0) -> int:
    """Watch until a signal (0) or a failure the supervisor will not wait out (1)."""
    while not should_stop():
        time.sleep(interval_s)
        if should_stop():
            break
        if mcp and mcp.poll() is not None:
            logger.error("MCP server exited with %s", mcp.returncode)
            return 1
        status, message = poller.poll()
        if should_stop():
            break
        decision = supervisor.observe(time.monotonic(), status)
        if decision.transition:
            log = logger.info if decision.reason == "running" else logger.warning
            log("supervisor: %s%s", decision.transition, f" ({message})" if message else "")
        if not decision.keep:
            logger.error("supervisor: %s; stopping", decision.reason)
            return decision.exit_code
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for key, value in FAST_METRICS_ENV.items():
        os.environ.setdefault(key, value)
    if args.demo:
        os.environ["QWEN_ASR_DEMO"] = "true"

    from serve_app.settings import get_settings

    settings = get_settings()
    # Before `import ray`: Ray reads its one-host switch when ray_constants is imported.
    ray_bind = bind_ray_to(settings.ray_node_ip)

    import ray
    from ray import serve

    from serve_app import deploy_config
    from serve_app.builder import APP_NAME
    config = deploy_config.load_config(args.config or deploy_config.DEFAULT_CONFIG)
    config = deploy_config.with_http(config, settings)
    if args.demo or not gpu_present():
        logger.info("no GPU in use: model replicas run on the CPU")
        config = deploy_config.without_gpus(config)
    if args.demo:
        config = deploy_config.with_args(config, demo=True)

    stopping = False
    starting = True

    def request_stop(signum, _frame):
        nonlocal stopping
        logger.info("signal %s: shutting down", signum)
        stopping = True
        if starting:  # break out of ray.init / deploy / wait_until_running; `finally` cleans up
            raise StopRequested(signum)

    def install_signal_handlers():
        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)

    install_signal_handlers()

    from serve_app.supervisor import Supervisor

    dashboard_port = args.dashboard_port if args.dashboard_port is not None else settings.dashboard_port
    tmpdir = private_tmpdir()
    mcp = None
    poller = None
    code = 0
    try:
        # Workers inherit this process's environment (FAST_METRICS_ENV and TMPDIR included).
        # address="local": always a fresh one-host cluster, never someone else's (RAY_ADDRESS).
        ray.init(address="local", include_dashboard=True, dashboard_host=args.dashboard_host,
                 dashboard_port=dashboard_port, _metrics_export_port=settings.metrics_port, **ray_bind)
        install_signal_handlers()  # ray.init replaces the SIGTERM handler with sys.exit(15)
        deploy_config.deploy(config)
        deploy_config.wait_until_running(APP_NAME)
        if not args.no_mcp:
            mcp = start_mcp(settings)
        for line in banner(settings, args.dashboard_host, dashboard_port, mcp is not None):
            logger.info("%s", line)
        logger.info("supervising %s: an unhealthy app gets %gs to heal (QWEN_ASR_SUPERVISOR_GRACE_S)",
                    APP_NAME, settings.supervisor_grace_s)
        poller = StatusPoller(APP_NAME)
        starting = False
        if stopping:
            raise StopRequested(signal.SIGTERM)
        code = supervise(poller, Supervisor(settings.supervisor_grace_s), mcp, lambda: stopping)
    except StopRequested:
        code = 0
    except Exception:
        logger.exception("startup failed")
        code = 1
    finally:
        starting = False  # a second signal during cleanup must not interrupt it
        if mcp and mcp.poll() is None:
            mcp.terminate()
            try:
                mcp.wait(timeout=10)
            except subprocess.TimeoutExpired:
                mcp.kill()
        if poller:
            poller.close()
        try:
            if ray.is_initialized():
                serve.shutdown()
        except Exception:  # Ray may already be half gone; still shut it down
            logger.exception("serve.shutdown failed")
        finally:
            ray.shutdown()
            shutil.rmtree(tmpdir, ignore_errors=True)
    logger.info("exiting with %s", code)
    return code

if __name__ == "__main__":
    sys.exit(main())
