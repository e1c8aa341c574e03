"""The real launcher (`python -m serve_app.launcher --demo --no-mcp`) as a supervisor.

One launcher with its own ports, its own Ray temp folder and its own TMPDIR:
- every port its process tree listens on is on 127.0.0.1 (Ray's GCS, raylet, workers, dashboard,
  agents, metrics; Serve HTTP follows QWEN_ASR_HTTP_HOST, 127.0.0.1 by default), except the one
  inter-deployment gRPC port per Serve replica that Ray 2.60 binds to [::] with no setting;
- SIGKILL of the loaded model replica, of the ModelRegistry and of the Ingress: the launcher stays
  up (it used to exit ~1 s after the app turned UNHEALTHY) and the service answers again within
  HEAL_BOUND_S of each kill (measured on the 2-core CI machine: see the printed figures);
- SIGTERM: exit code 0, and no `pymp-*` (nor the launcher's private TMPDIR) left behind.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.audio_fixtures import write_tone
from tests.stack import free_port

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 240  # cold start on a busy 2-core machine took up to ~80 s
HEAL_BOUND_S = 60  # measured 2-15 s; the supervisor's grace in this test is 90 s
GRACE_S = 90
MODEL = "qwen3-asr-1.7b"
ATTEMPT_TIMEOUT_S = 20  # one try after a kill; a request caught by the dying actor is retried


def tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def listening(pid: int) -> list[tuple[str, int, str]]:
    """(address, port, process title) of every TCP listener in the launcher's process tree."""
    out = []
    for proc in tree(pid):
        try:
            conns = proc.net_connections(kind="inet")
            title = " ".join(proc.cmdline())[:60] or proc.name()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        out += [(c.laddr.ip, c.laddr.port, title) for c in conns if c.status == psutil.CONN_LISTEN]
    return out


def is_loopback(ip: str) -> bool:
    addr = ipaddress.ip_address(ip)
    mapped = getattr(addr, "ipv4_mapped", None)
    return (mapped or addr).is_loopback


def find_actor(pid: int, title: str) -> psutil.Process:
    for proc in tree(pid):
        try:
            if proc.cmdline() and proc.cmdline()[0].startswith(title):
                return proc
        except psutil.NoSuchProcess:
            continue
    raise AssertionError(f"no process titled {title} under the launcher")


class Launcher:
    def __init__(self, work: Path):
        self.http_port = free_port()
        self.dashboard_port = free_port()
        self.metrics_port = free_port()
        self.base = f"http://127.0.0.1:{self.http_port}"
        self.tmp = work / "tmp"  # the launcher's TMPDIR: where a leaked pymp-* would land
        self.tmp.mkdir()
        self.log_path = work / "launcher.log"
        env = {
            **os.environ,
            "QWEN_ASR_HTTP_PORT": str(self.http_port),
            "QWEN_ASR_DASHBOARD_PORT": str(self.dashboard_port),
            "QWEN_ASR_METRICS_PORT": str(self.metrics_port),
            "QWEN_ASR_SUPERVISOR_GRACE_S": str(GRACE_S),
            "QWEN_ASR_TORCH_THREADS": "1",
            "TMPDIR": str(self.tmp),
            "RAY_TMPDIR": str(work / "ray"),  # a private Ray session folder (short path: Unix sockets)
            "PYTHONUNBUFFERED": "1",
        }
        for var in ("RAY_ADDRESS", "QWEN_ASR_HTTP_HOST", "QWEN_ASR_RAY_NODE_IP", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"):
            env.pop(var, None)
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "serve_app.launcher", "--demo", "--no-mcp"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_health(self, timeout_s: float) -> float:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout_s:
            assert self.alive(), f"launcher exited with {self.proc.returncode}:\n{self.log_text()[-4000:]}"
            try:
                if httpx.get(f"{self.base}/health", timeout=5).status_code == 200:
                    return time.monotonic() - t0
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"/health not up within {timeout_s}s:\n{self.log_text()[-4000:]}")

    def wait_log(self, needle: str, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        while needle not in (text := self.log_text()):
            assert self.alive() and time.monotonic() < deadline, f"no {needle!r} in the log:\n{text[-4000:]}"
            time.sleep(0.5)
        return text

    def transcribe(self, wav: Path, timeout_s: float = 60) -> httpx.Response:
        with open(wav, "rb") as handle:
            return httpx.post(f"{self.base}/api/transcribe", files={"file": (wav.name, handle, "audio/wav")},
                              data={"model": MODEL}, timeout=timeout_s)

    def until_transcribes(self, wav: Path, since: float, bound_s: float, what: str) -> float:
        """Seconds from `since` to the first successful transcription; the launcher must stay up."""
        seen = []
        while time.monotonic() - since < bound_s:
            assert self.alive(), f"launcher exited with {self.proc.returncode}:\n{self.log_text()[-4000:]}"
            t0 = time.monotonic()
            try:
                status = self.transcribe(wav, timeout_s=ATTEMPT_TIMEOUT_S).status_code
                if status == 200:
                    print(f"{what}: answers after {time.monotonic() - since:.1f}s; before that {seen}")
                    return time.monotonic() - since
                seen.append(status)
            except httpx.HTTPError as exc:
                seen.append(f"{type(exc).__name__} after {time.monotonic() - t0:.1f}s")
            time.sleep(0.3)
        raise AssertionError(f"{what}: no successful transcription within {bound_s}s (attempts: {seen})")

    def stop(self, timeout_s: float = 90) -> int | None:
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
                self.log.close()
                return None
        self.log.close()
        return self.proc.returncode


@pytest.fixture
def work():
    # Short, private paths: Ray's Unix sockets live under RAY_TMPDIR and must stay < 108 chars.
    path = Path(tempfile.mkdtemp(prefix="qal-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_launcher_survives_kills_binds_loopback_and_exits_clean(work, tiny_models):
    wav = write_tone(work / "tone.wav", 1.5)
    launcher = Launcher(work)
    figures: dict[str, float] = {}
    try:
        figures["startup_s"] = launcher.wait_health(START_TIMEOUT_S)
        text = launcher.wait_log("supervising qwen3-asr", 120)  # /health answers before the banner
        assert f"http://127.0.0.1:{launcher.http_port}/" in text, "the banner shows the configured HTTP port"
        assert f"http://127.0.0.1:{launcher.dashboard_port}/" in text, "the banner shows the configured dashboard"
        assert f"http://127.0.0.1:{launcher.metrics_port}/metrics" in text, "the banner shows the metrics endpoint"
        assert ":8200/" not in text and ":8265/" not in text and ":8266/" not in text

        first = launcher.transcribe(wav, timeout_s=120)
        assert first.status_code == 200, first.text

        # --- ports: everything the stack listens on is loopback ---------------------------------
        ports = listening(launcher.proc.pid)
        exposed = [p for p in ports if not is_loopback(p[0])]
        # Ray 2.60 hard-codes "[::]:0" for each Serve replica's inter-deployment gRPC server
        # (serve/_private/replica.py, no setting); Ray's token-auth interceptor guards it. That
        # one port per replica is the only exception allowed.
        replica_grpc = [p for p in exposed if p[0] == "::" and p[2].startswith("ray::ServeReplica:")]
        others = [p for p in exposed if p not in replica_grpc]
        assert not others, f"listening beyond loopback: {others}"
        per_replica = [title for _, _, title in replica_grpc]
        assert len(per_replica) == len(set(per_replica)), f"more than one wildcard port per replica: {replica_grpc}"
        numbers = {port for _, port, _ in ports}
        assert {launcher.http_port, launcher.dashboard_port, launcher.metrics_port} <= numbers, ports
        scraped = httpx.get(f"http://127.0.0.1:{launcher.metrics_port}/metrics", timeout=10)
        assert scraped.status_code == 200 and "ray_" in scraped.text, "Prometheus metrics on the configured port"
        assert len(ports) >= 8, ports  # GCS, raylet x2, agents, controller, proxy, replicas: really seen
        print(f"\n{len(ports)} listeners, all on loopback:",
              sorted({(ip, title.split()[0]) for ip, _, title in ports}))

        # --- kill the loaded model replica ----------------------------------------------------
        history = httpx.get(f"{launcher.base}/api/status", timeout=10).json()["models"][MODEL]["replica_history"]
        live = [r for r in history if r.get("pid") and not r.get("exited_at")]
        assert live, history
        model_pid = live[-1]["pid"]
        assert model_pid in {p.pid for p in tree(launcher.proc.pid)}
        t_kill = time.monotonic()
        os.kill(model_pid, signal.SIGKILL)
        figures["model_replica_heal_s"] = launcher.until_transcribes(wav, t_kill, HEAL_BOUND_S, "model replica")

        # --- kill the ModelRegistry, then the Ingress ----------------------------------------
        for name, title in (("registry", "ray::ServeReplica:qwen3-asr:ModelRegistry"),
                            ("ingress", "ray::ServeReplica:qwen3-asr:Ingress")):
            victim = find_actor(launcher.proc.pid, title)
            t_kill = time.monotonic()
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=10)
            figures[f"{name}_heal_s"] = launcher.until_transcribes(wav, t_kill, HEAL_BOUND_S, name)
            assert launcher.alive()

        time.sleep(3)  # a late UNHEALTHY after the heal must not take it down either
        assert launcher.alive()
        log = launcher.log_text()
        assert "supervisor: application" in log, "transitions are logged"
        print("measured:", {k: round(v, 1) for k, v in figures.items()})
        for line in log.splitlines():
            if "qwen3-asr.launcher" in line and "supervisor" in line:
                print(line[:200])
    finally:
        t_stop = time.monotonic()
        code = launcher.stop()
        print(f"SIGTERM -> exit {code} in {time.monotonic() - t_stop:.1f}s")
        kept = Path(tempfile.gettempdir()) / "qwen3-asr-launcher-test.log"
        shutil.copy(launcher.log_path, kept)
        print(f"launcher log: {kept}")

    assert code == 0, launcher.log_text()[-4000:]
    assert "exiting with 0" in launcher.log_text()
    leftovers = sorted(p.name for p in launcher.tmp.iterdir())
    assert not [n for n in leftovers if n.startswith("pymp-")], leftovers
    assert not [n for n in leftovers if n.startswith("qwen3-asr-")], leftovers
    assert not [p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"]
                and any(str(work / "ray") in part for part in p.info["cmdline"])], "Ray processes left running"
