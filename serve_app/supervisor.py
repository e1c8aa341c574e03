"""When the launcher should give up on the Serve application: a pure decision, no Ray.

Serve heals itself: a SIGKILLed model replica, ModelRegistry or Ingress makes the application
`UNHEALTHY` (or `DEPLOYING`) for a few seconds while the controller starts a new replica. The
launcher feeds `Supervisor.observe(now, status)` one observation a second and exits only when
the application has not been `RUNNING` for `grace_s` seconds in a row, whatever the state in
between (UNHEALTHY, DEPLOYING, DEPLOY_FAILED, gone, or the controller not answering).
"""

from __future__ import annotations

from dataclasses import dataclass

RUNNING = "RUNNING"
GONE = "GONE"  # the application is not in serve.status() any more
UNREACHABLE = "UNREACHABLE"  # serve.status() raised or did not answer in time


def status_name(status: object | None) -> str:
    """`ApplicationStatus.UNHEALTHY`, "UNHEALTHY" -> "UNHEALTHY"; None -> GONE."""
    if status is None:
        return GONE
    return str(getattr(status, "value", status)).upper()


@dataclass(frozen=True)
class Decision:
    keep: bool  # False: stop the stack and exit non-zero
    reason: str  # why; the exit message when keep is False
    transition: str | None = None  # set when the status changed since the last observation: log it

    @property
    def exit_code(self) -> int:
        return 0 if self.keep else 1


class Supervisor:
    """Feed it (monotonic time, application status) observations; it answers keep or exit."""

    def __init__(self, grace_s: float):
        if grace_s < 0:
            raise ValueError("grace_s must be >= 0")
        self.grace_s = float(grace_s)
        self.last: str | None = None  # the previous observation's status
        self.last_change: float | None = None  # when `last` was first seen
        self.down_since: float | None = None  # start of the current not-RUNNING spell
        self.recoveries = 0  # how often the application came back to RUNNING

    def observe(self, now: float, status: object | None) -> Decision:
        name = status_name(status)
        transition = None
        if name != self.last:
            if self.last is None:
                transition = f"application {name}"
            else:
                transition = f"application {self.last} -> {name} after {now - self.last_change:.1f}s"
            self.last, self.last_change = name, now

        if name == RUNNING:
            if self.down_since is not None:
                transition = f"application back to RUNNING after {now - self.down_since:.1f}s"
                self.down_since = None
                self.recoveries += 1
            return Decision(True, "running", transition)

        if self.down_since is None:
            self.down_since = now
        down_for = now - self.down_since
        if down_for >= self.grace_s:
            return Decision(
                False,
                f"application not RUNNING for {down_for:.1f}s (now {name}), past the "
                f"{self.grace_s:g}s grace (QWEN_ASR_SUPERVISOR_GRACE_S)",
                transition,
            )
        return Decision(True, f"{name} for {down_for:.1f}s, {self.grace_s - down_for:.1f}s of grace left", transition)
