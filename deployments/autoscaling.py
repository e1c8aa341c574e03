"""Autoscaling policy for model deployments: scale to zero when idle or on release.

Serve wraps every custom policy with its delay logic; the configs built in
`serve_app.builder` set `downscale_to_zero_delay_s: 0` so that this policy alone decides
when 1 -> 0 happens: at once on a release request, after `idle_timeout_s` of idleness
otherwise. Cold starts from zero are Serve's own fast path.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from deployments.lifecycle import IDLE_METRIC, RELEASE_METRIC

logger = logging.getLogger(__name__)


def _latest(series: Any) -> float | None:
    if not series:
        return None
    return float(series[-1].value)


def latest_metric(ctx: Any, name: str) -> list[float]:
    raw = ctx.raw_metrics or {}
    values = (_latest(series) for series in raw.get(name, {}).values())
    return [v for v in values if v is not None]


class IdleReleasePolicy:
    def __init__(self, idle_timeout_s: float = 600.0) -> None:
        self.idle_timeout_s = float(idle_timeout_s)

    def __call__(self, ctx: Any) -> tuple[int, dict]:
        try:
            return self.decide(ctx), {}
        except Exception:
            logger.exception("autoscaling policy failed; keeping the current target")
            return ctx.target_num_replicas, {}

    def decide(self, ctx: Any) -> int:
        current = ctx.current_num_replicas
        if current == 0:
            return ctx.target_num_replicas
        if any(v >= 1.0 for v in latest_metric(ctx, RELEASE_METRIC)):
            logger.info("%s: release requested, scaling to zero", ctx.deployment_name)
            return 0
        requests = float(ctx.total_num_requests or 0.0)
        idle = latest_metric(ctx, IDLE_METRIC)
        if requests <= 0 and idle and min(idle) >= self.idle_timeout_s:
            logger.info("%s: idle for %.1fs (timeout %.1fs), scaling to zero",
                        ctx.deployment_name, min(idle), self.idle_timeout_s)
            return 0
        target_per_replica = ctx.config.get_target_ongoing_requests()
        wanted = math.ceil(requests / target_per_replica) if requests > 0 else current
        return max(1, min(wanted, ctx.capacity_adjusted_max_replicas))
