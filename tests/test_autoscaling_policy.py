"""The idle/release autoscaling policy, decided from replica-reported metrics."""

from types import SimpleNamespace

from deployments.autoscaling import IdleReleasePolicy
from deployments.lifecycle import IDLE_METRIC, RELEASE_METRIC


def ctx(current=1, target=1, requests=0.0, idle=(0.0,), release=(0.0,), max_replicas=1):
    def series(values):
        return {f"r{i}": [SimpleNamespace(timestamp=0, value=-1), SimpleNamespace(timestamp=1, value=v)]
                for i, v in enumerate(values)}

    return SimpleNamespace(
        deployment_name="Qwen3ASR-0.6B", current_num_replicas=current, target_num_replicas=target,
        total_num_requests=requests, raw_metrics={IDLE_METRIC: series(idle), RELEASE_METRIC: series(release)},
        capacity_adjusted_max_replicas=max_replicas,
        config=SimpleNamespace(get_target_ongoing_requests=lambda: 8),
    )


policy = IdleReleasePolicy(idle_timeout_s=600)


def test_busy_or_recently_used_model_stays():
    assert policy(ctx(requests=3))[0] == 1
    assert policy(ctx(idle=(599.0,)))[0] == 1


def test_idle_past_the_timeout_scales_to_zero():
    assert policy(ctx(idle=(600.5,)))[0] == 0


def test_idle_but_with_pending_requests_stays():
    assert policy(ctx(idle=(900.0,), requests=1))[0] == 1


def test_release_request_scales_to_zero_at_once_even_when_busy():
    assert policy(ctx(release=(1.0,), requests=5))[0] == 0


def test_zero_replicas_keep_the_target_for_serves_cold_start_path():
    assert policy(ctx(current=0, target=0))[0] == 0


def test_load_scales_up_to_the_cap():
    assert policy(ctx(requests=40, max_replicas=3))[0] == 3
    assert policy(ctx(requests=12, max_replicas=3))[0] == 2


def test_uses_the_latest_sample_not_an_average():
    assert policy(ctx(idle=(700.0,)))[0] == 0  # earlier sample was -1


def test_broken_context_keeps_the_current_target():
    assert policy(SimpleNamespace(current_num_replicas=1, target_num_replicas=1))[0] == 1
