"""GPU lifecycle from Serve autoscaling: lazy load, idle unload, release now, model switch.

Runs against the `lifecycle` application (idle timeout of a few seconds, switch policy
off), the main one and the `auth` one (switch policy on, as in serve_config.yaml). Orderings are proven from the
replicas' own start/exit times (`replica_history` in /api/status), not from a status
read afterwards, and no assertion depends on how fast this machine is.
"""

from __future__ import annotations

import concurrent.futures
import os
import time

import httpx
import pytest

from tests.stack import AUTH_APP, AUTH_KEY, LIFECYCLE_APP, LIFECYCLE_IDLE_S, MAIN_APP, expected_text

ASR_LARGE, ASR_SMALL, ALIGNER = "qwen3-asr-1.7b", "qwen3-asr-0.6b", "qwen3-forced-aligner-0.6b"
# Clocks of the ingress, the registry and the replicas are one host's clock here; this only
# absorbs the rounding between the heartbeat and the policy's decision.
CLOCK_SLACK_S = 0.5


def keyed(app) -> dict[str, str]:
    return {"Authorization": f"Bearer {AUTH_KEY}"} if app == AUTH_APP else {}


def status(stack, app):
    return httpx.get(stack.url("/api/status", app), headers=keyed(app), timeout=30).json()


def models(stack, app):
    return status(stack, app)["models"]


def history(stack, app, model):
    return models(stack, app)[model]["replica_history"]


def exited(records):
    return [r for r in records if r["exited_at"]]


def alive(records):
    return [r for r in records if not r["exited_at"] and not r["exit_reason"]]


def transcribe(stack, audio, app, model=ASR_SMALL, **form):
    with open(audio["speech_en"], "rb") as handle:
        response = httpx.post(stack.url("/api/transcribe", app), files={"file": ("a.wav", handle)},
                              data={"model": model, **form}, headers=keyed(app), timeout=300)
    assert response.status_code == 200, response.text
    return response


def offload(stack, app, models_=None):
    response = httpx.post(stack.url("/api/gpu-offload", app), json={"models": models_} if models_ else None,
                          timeout=300)
    assert response.status_code in (200, 202), response.text
    return response


def wait_for(predicate, timeout_s, interval=0.5):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def test_lazy_load_then_idle_unload_after_the_timeout_and_not_before(stack, audio):
    offload(stack, LIFECYCLE_APP)
    before = models(stack, LIFECYCLE_APP)[ASR_SMALL]
    assert before["state"] == "not_loaded" and before["replicas"] == 0

    response = transcribe(stack, audio, LIFECYCLE_APP)
    assert float(response.headers["X-Time-Load"]) > 0  # this request waited for the model
    loaded = wait_for(lambda: models(stack, LIFECYCLE_APP)[ASR_SMALL]["replicas"] == 1 and
                      models(stack, LIFECYCLE_APP)[ASR_SMALL], 10)
    assert loaded and loaded["state"] in ("loaded", "releasing"), loaded
    assert loaded["load_seconds"] is not None and loaded["device"] == "cpu"

    warm = transcribe(stack, audio, LIFECYCLE_APP)
    assert float(warm.headers["X-Time-Load"]) == 0.0
    last_request_done = time.time()
    records = history(stack, LIFECYCLE_APP, ASR_SMALL)
    live = [r for r in records if not r["exited_at"] and not r["exit_reason"]]
    assert len(live) == 1, records
    replica = live[0]["replica_id"]

    gone = wait_for(lambda: [r for r in exited(history(stack, LIFECYCLE_APP, ASR_SMALL))
                             if r["replica_id"] == replica], LIFECYCLE_IDLE_S + 90)
    assert gone, "idle model was not unloaded"
    (record,) = gone
    assert record["exit_reason"] == "stopped"  # idle, not a release
    idle_for = record["exited_at"] - last_request_done
    print(f"idle unload {idle_for:.1f}s after the last request (timeout {LIFECYCLE_IDLE_S}s)")
    assert idle_for >= LIFECYCLE_IDLE_S - CLOCK_SLACK_S, "unloaded before the idle timeout"
    assert models(stack, LIFECYCLE_APP)[ASR_SMALL]["replicas"] == 0


def test_release_answers_when_the_replica_has_exited_and_the_model_reloads(stack, audio):
    transcribe(stack, audio, LIFECYCLE_APP, model=ASR_LARGE)
    response = offload(stack, LIFECYCLE_APP, [ASR_LARGE])
    answered_at = time.time()
    body = response.json()
    assert body["released"] == [ASR_LARGE]
    assert {"gpu_before", "gpu_after"} <= set(body)
    if response.status_code == 200:
        assert body["complete"] is True
        assert body["models"][ASR_LARGE]["state"] == "not_loaded" and body["models"][ASR_LARGE]["replicas"] == 0
        last = exited(history(stack, LIFECYCLE_APP, ASR_LARGE))[-1]
        assert last["exit_reason"] == "released" and last["exited_at"] <= answered_at + CLOCK_SLACK_S
    else:  # the bound ran out: it must say so truthfully
        assert body["complete"] is False and body["models"][ASR_LARGE]["state"] == "releasing"
    print(f"release took {body['seconds']}s ({response.status_code})")
    again = transcribe(stack, audio, LIFECYCLE_APP, model=ASR_LARGE)
    assert again.json()["model"] == ASR_LARGE
    assert float(again.headers["X-Time-Load"]) > 0


def test_a_request_during_a_release_is_served_by_a_new_replica(stack, audio):
    transcribe(stack, audio, LIFECYCLE_APP, model=ASR_LARGE)
    old = [r["replica_id"] for r in alive(history(stack, LIFECYCLE_APP, ASR_LARGE))]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        release = pool.submit(offload, stack, LIFECYCLE_APP, [ASR_LARGE])
        time.sleep(0.2)
        request = pool.submit(transcribe, stack, audio, LIFECYCLE_APP, ASR_LARGE)
        assert release.result().status_code in (200, 202)
        served = request.result()
    assert served.json()["text"]
    records = history(stack, LIFECYCLE_APP, ASR_LARGE)
    old_exit = [r for r in records if r["replica_id"] in old]
    assert old_exit and old_exit[-1]["exited_at"], "the released replica did not exit"
    newer = [r for r in records if r["started_at"] and r["started_at"] > old_exit[-1]["exited_at"] - CLOCK_SLACK_S]
    assert newer, "the request was not served by a replica constructed after the release"


def test_offload_everything_and_unknown_model(stack):
    body = offload(stack, LIFECYCLE_APP).json()
    assert set(body["released"]) | set(body["already_unloaded"]) == {ASR_LARGE, ASR_SMALL, ALIGNER}
    bad = httpx.post(stack.url("/api/gpu-offload", LIFECYCLE_APP), json={"models": ["gpt-5"]}, timeout=30)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "unknown_model"


def test_switch_policy_off_keeps_the_other_model(stack, audio):
    transcribe(stack, audio, LIFECYCLE_APP, model=ASR_SMALL)
    small = [r["replica_id"] for r in alive(history(stack, LIFECYCLE_APP, ASR_SMALL))]
    transcribe(stack, audio, LIFECYCLE_APP, model=ASR_LARGE)
    records = [r for r in history(stack, LIFECYCLE_APP, ASR_SMALL) if r["replica_id"] in small]
    # Alive, or unloaded by its own idle timeout: never released for the other model.
    assert records and records[0]["exit_reason"] in (None, "stopped"), records


def test_switch_policy_on_the_other_model_exits_before_the_new_one_is_constructed(stack, audio):
    assert status(stack, AUTH_APP)["config"]["release_other_on_switch"] is True
    transcribe(stack, audio, AUTH_APP, model=ASR_SMALL)
    small_replica = alive(history(stack, AUTH_APP, ASR_SMALL))
    assert small_replica, "the small model should be loaded"
    transcribe(stack, audio, AUTH_APP, model=ASR_LARGE)
    small = [r for r in history(stack, AUTH_APP, ASR_SMALL) if r["replica_id"] == small_replica[0]["replica_id"]]
    large = history(stack, AUTH_APP, ASR_LARGE)[-1]
    assert small[0]["exited_at"], f"the small model's replica is still alive: {small}"
    assert small[0]["exit_reason"] == "released"
    assert large["started_at"] >= small[0]["exited_at"], (small, large)
    print(f"switch: small exited {large['started_at'] - small[0]['exited_at']:.2f}s before large was constructed")


@pytest.mark.releases_models
def test_gpu_offload_then_transcribe_reloads(stack, audio):
    transcribe(stack, audio, MAIN_APP, model=ASR_LARGE)
    response = offload(stack, MAIN_APP)
    state = response.json()["models"][ASR_LARGE]["state"]
    assert (response.status_code, state) in ((200, "not_loaded"), (202, "releasing"))
    again = transcribe(stack, audio, MAIN_APP, model=ASR_LARGE)
    assert again.json()["text"] == expected_text(ASR_LARGE)
    assert float(again.headers["X-Time-Load"]) > 0


def test_cpu_replicas_use_the_cores_they_are_given(stack, audio):
    transcribe(stack, audio, LIFECYCLE_APP, model=ASR_SMALL)
    described = wait_for(lambda: models(stack, LIFECYCLE_APP)[ASR_SMALL]["torch_threads"], 10)
    assert described == len(os.sched_getaffinity(0)), "a CPU replica with no CPU slot should use every core"


def test_dtype_reload_is_reported(stack, audio):
    body = transcribe(stack, audio, LIFECYCLE_APP, model=ASR_SMALL, dtype="bfloat16").json()
    assert body["dtype"] == "bfloat16"
    assert body["text"] == expected_text(ASR_SMALL)
    status = wait_for(lambda: models(stack, LIFECYCLE_APP)[ASR_SMALL]["dtype"] == "bfloat16", 10)
    assert status
    # no dtype asked: the loaded one is used as is
    assert transcribe(stack, audio, LIFECYCLE_APP, model=ASR_SMALL).json()["dtype"] == "bfloat16"
    assert transcribe(stack, audio, LIFECYCLE_APP, model=ASR_SMALL, dtype="float16").json()["dtype"] == "float16"
