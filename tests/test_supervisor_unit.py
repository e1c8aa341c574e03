"""The launcher's supervisor without Ray: which observations keep the stack up, which end it."""

from __future__ import annotations

import enum
import os
import tempfile
import threading
import time

import pytest

from serve_app import launcher
from serve_app.settings import Settings
from serve_app.supervisor import GONE, UNREACHABLE, Decision, Supervisor, status_name


class FakeStatus(str, enum.Enum):
    """Shaped like ray.serve's ApplicationStatus (a str enum)."""

    RUNNING = "RUNNING"
    DEPLOYING = "DEPLOYING"
    UNHEALTHY = "UNHEALTHY"
    DEPLOY_FAILED = "DEPLOY_FAILED"


def feed(sup: Supervisor, observations) -> list[Decision]:
    return [sup.observe(t, s) for t, s in observations]


def test_status_names():
    assert status_name(FakeStatus.UNHEALTHY) == "UNHEALTHY"
    assert status_name("running") == "RUNNING"
    assert status_name(None) == GONE


def test_running_keeps_and_logs_only_the_first_observation():
    sup = Supervisor(120)
    first, *rest = feed(sup, [(0, "RUNNING"), (1, "RUNNING"), (2, FakeStatus.RUNNING)])
    assert first.keep and first.transition == "application RUNNING"
    assert all(d.keep and d.transition is None for d in rest)


def test_heals_within_grace_keeps_running():
    sup = Supervisor(120)
    decisions = feed(sup, [(0, "RUNNING"), (1, "UNHEALTHY"), (5, "UNHEALTHY"), (8, "DEPLOYING"),
                           (14, "RUNNING"), (15, "RUNNING")])
    assert all(d.keep for d in decisions)
    assert decisions[1].transition == "application RUNNING -> UNHEALTHY after 1.0s"
    assert decisions[2].transition is None
    assert decisions[3].transition == "application UNHEALTHY -> DEPLOYING after 7.0s"
    assert decisions[4].transition == "application back to RUNNING after 13.0s"
    assert decisions[4].reason == "running"
    assert decisions[5].transition is None
    assert sup.recoveries == 1 and sup.down_since is None
    assert "grace left" in decisions[2].reason


def test_stays_unhealthy_past_grace_exits_non_zero_with_reason():
    sup = Supervisor(30)
    decisions = feed(sup, [(0, "RUNNING"), (10, "UNHEALTHY"), (39.9, "UNHEALTHY"), (40, "UNHEALTHY")])
    assert [d.keep for d in decisions] == [True, True, True, False]
    last = decisions[-1]
    assert last.exit_code == 1
    assert "30.0s" in last.reason and "UNHEALTHY" in last.reason and "30s grace" in last.reason
    assert "QWEN_ASR_SUPERVISOR_GRACE_S" in last.reason


def test_grace_counts_from_the_start_of_the_spell_not_the_last_change():
    # UNHEALTHY -> DEPLOYING -> UNHEALTHY without ever RUNNING: one spell.
    sup = Supervisor(20)
    decisions = feed(sup, [(0, "RUNNING"), (1, "UNHEALTHY"), (10, "DEPLOYING"), (15, "UNHEALTHY"), (21, "DEPLOYING")])
    assert [d.keep for d in decisions] == [True, True, True, True, False]
    assert "DEPLOYING" in decisions[-1].reason


def test_each_recovery_restarts_the_grace():
    sup = Supervisor(10)
    obs = [(0, "RUNNING"), (1, "UNHEALTHY"), (9, "RUNNING"), (10, "UNHEALTHY"), (18, "RUNNING"), (19, "UNHEALTHY"),
           (28, "UNHEALTHY")]
    assert all(d.keep for d in feed(sup, obs))
    assert sup.recoveries == 2
    assert not sup.observe(29, "UNHEALTHY").keep


def test_deploy_failed_is_given_the_grace_then_exits():
    sup = Supervisor(60)
    assert sup.observe(0, FakeStatus.RUNNING).keep
    d = sup.observe(1, FakeStatus.DEPLOY_FAILED)
    assert d.keep and d.transition == "application RUNNING -> DEPLOY_FAILED after 1.0s"
    d = sup.observe(61, FakeStatus.DEPLOY_FAILED)
    assert not d.keep and "DEPLOY_FAILED" in d.reason and d.exit_code == 1


def test_deploy_failed_that_is_fixed_by_a_redeploy_keeps_running():
    sup = Supervisor(60)
    feed(sup, [(0, "RUNNING"), (1, "DEPLOY_FAILED"), (30, "DEPLOYING")])
    assert sup.observe(40, "RUNNING").keep


def test_app_gone_exits_after_grace():
    sup = Supervisor(5)
    assert sup.observe(0, "RUNNING").keep
    d = sup.observe(1, None)
    assert d.keep and "GONE" in d.transition
    d = sup.observe(6, None)
    assert not d.keep and GONE in d.reason


def test_controller_unreachable_counts_as_down():
    sup = Supervisor(5)
    feed(sup, [(0, "RUNNING"), (1, UNREACHABLE)])
    assert sup.observe(5.5, UNREACHABLE).keep
    assert not sup.observe(6, UNREACHABLE).keep


def test_zero_grace_is_the_old_behaviour():
    sup = Supervisor(0)
    assert sup.observe(0, "RUNNING").keep
    assert not sup.observe(1, "UNHEALTHY").keep


def test_never_running_from_the_start_still_bounded():
    sup = Supervisor(3)
    assert sup.observe(0, "DEPLOYING").keep
    assert not sup.observe(3, "DEPLOYING").keep


def test_negative_grace_refused():
    with pytest.raises(ValueError):
        Supervisor(-1)


# --- settings ---------------------------------------------------------------------------------


def test_launcher_settings_defaults_and_env(monkeypatch):
    s = Settings(_env_file=None)
    assert (s.supervisor_grace_s, s.dashboard_port, s.ray_node_ip) == (120.0, 8265, "127.0.0.1")
    monkeypatch.setenv("QWEN_ASR_SUPERVISOR_GRACE_S", "7.5")
    monkeypatch.setenv("QWEN_ASR_DASHBOARD_PORT", "18265")
    s = Settings(_env_file=None)
    assert s.supervisor_grace_s == 7.5 and s.dashboard_port == 18265
    monkeypatch.setenv("QWEN_ASR_SUPERVISOR_GRACE_S", "-1")
    with pytest.raises(ValueError):
        Settings(_env_file=None)


# --- launcher helpers ---------------------------------------------------------------------------


def test_dashboard_port_flag_defaults_to_the_setting():
    assert launcher.parse_args([]).dashboard_port is None
    assert launcher.parse_args(["--dashboard-port", "9999"]).dashboard_port == 9999


def test_banner_prints_the_configured_urls():
    s = Settings(_env_file=None, http_port=18200, mcp_port=18201, http_host="0.0.0.0", mcp_host="10.1.2.3",
                 metrics_port=18266)
    text = "\n".join(launcher.banner(s, "127.0.0.1", 18265, mcp=True))
    assert "http://127.0.0.1:18200/" in text and "http://127.0.0.1:18200/docs" in text
    assert "bound to 0.0.0.0:18200" in text
    assert "http://10.1.2.3:18201/mcp" in text
    assert "http://127.0.0.1:18265/" in text
    assert "http://127.0.0.1:18266/metrics" in text
    assert "8200/" not in text.replace("18200/", "") and ":8265" not in text and ":8266" not in text
    assert "MCP" not in "\n".join(launcher.banner(s, "127.0.0.1", 18265, mcp=False))


def test_private_tmpdir_keeps_ray_where_it_was(monkeypatch, tmp_path):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.delenv("RAY_TMPDIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", None)
    try:
        path = launcher.private_tmpdir()
        assert path.parent == tmp_path and path.name.startswith("qwen3-asr-") and path.is_dir()
        assert os.environ["TMPDIR"] == str(path) and os.environ["RAY_TMPDIR"] == str(tmp_path)
        assert tempfile.gettempdir() == str(path)
    finally:
        tempfile.tempdir = None


def test_private_tmpdir_respects_an_explicit_ray_tmpdir(monkeypatch, tmp_path):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setenv("RAY_TMPDIR", "/somewhere/else")
    monkeypatch.setattr(tempfile, "tempdir", None)
    try:
        launcher.private_tmpdir()
        assert os.environ["RAY_TMPDIR"] == "/somewhere/else"
    finally:
        tempfile.tempdir = None


class FakePoller:
    def __init__(self, statuses):
        self.statuses = list(statuses)

    def poll(self):
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return status, "msg"


def test_supervise_rides_out_a_heal_and_stops_on_signal():
    poller = FakePoller(["RUNNING", "UNHEALTHY", "UNHEALTHY", "RUNNING", "RUNNING", "RUNNING"])
    calls = {"n": 0}

    def should_stop():
        calls["n"] += 1
        return calls["n"] > 20

    assert launcher.supervise(poller, Supervisor(60), None, should_stop, interval_s=0) == 0


def test_supervise_exits_1_past_the_grace():
    poller = FakePoller(["RUNNING", "UNHEALTHY"])
    t0 = time.monotonic()
    assert launcher.supervise(poller, Supervisor(0.05), None, lambda: False, interval_s=0.01) == 1
    assert time.monotonic() - t0 < 5


def test_supervise_exits_1_when_mcp_dies():
    class DeadMcp:
        returncode = 3

        def poll(self):
            return 3

    assert launcher.supervise(FakePoller(["RUNNING"]), Supervisor(60), DeadMcp(), lambda: False, interval_s=0) == 1


def test_status_poller_times_out_without_losing_the_answer(monkeypatch):
    gate = threading.Event()
    answers = iter([("RUNNING", ""), ("UNHEALTHY", "boom")])

    def slow_read(self):
        gate.wait(5)
        return next(answers)

    monkeypatch.setattr(launcher.StatusPoller, "_read", slow_read)
    poller = launcher.StatusPoller("app", timeout_s=0.05)
    try:
        assert poller.poll()[0] == UNREACHABLE  # the controller does not answer: no hang
        gate.set()
        assert poller.poll() == ("RUNNING", "")  # the same pending call's answer, not a second call
        assert poller.poll() == ("UNHEALTHY", "boom")
    finally:
        poller.close()


def test_status_poller_turns_errors_into_unreachable(monkeypatch):
    def broken(self):
        raise RuntimeError("controller restarting")

    monkeypatch.setattr(launcher.StatusPoller, "_read", broken)
    poller = launcher.StatusPoller("app", timeout_s=1)
    try:
        status, message = poller.poll()
        assert status == UNREACHABLE and "controller restarting" in message
    finally:
        poller.close()


def test_loopback_node_ip_switches_ray_to_its_one_host_mode(monkeypatch):
    monkeypatch.delenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", raising=False)
    assert launcher.bind_ray_to("localhost") == {"_node_ip_address": "127.0.0.1"}
    assert os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] == "0"


def test_other_node_ip_leaves_ray_cluster_mode(monkeypatch):
    monkeypatch.delenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", raising=False)
    assert launcher.bind_ray_to("10.0.0.5") == {"_node_ip_address": "10.0.0.5"}
    assert "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER" not in os.environ
