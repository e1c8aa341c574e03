"""The UI's second pass in Chromium (issue 14): the demo says so and offers sample clips, long files
show upload and server progress (SSE) with the text growing, failures stay in the transcript card
with Retry (a proxy's HTML page never shown), files the server would refuse are refused before any
upload, an unreachable service greys the status panels, and the picker matches both Han scripts.

The test stack's main app runs as the demo (tests/stack.py: demo true, 20 s pieces, 2 MB uploads).
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import numpy as np

from tests import test_ui_browser as ui
from tests.audio_fixtures import long_speech, write_array
from tests.stack import UI_PIECE_SECONDS

# the browser fixtures of the main UI test module, shared (one Chromium per module)
browser = ui.browser
open_page = ui.open_page
catalog = ui.catalog
wait_for_models = ui.wait_for_models
RESULT_TIMEOUT_MS = ui.RESULT_TIMEOUT_MS

RECORD_TEXT = """(sel) => { const el = document.querySelector(sel); window.__seen = window.__seen || {}; const seen = [];
    window.__seen[sel] = seen; new MutationObserver((records) => { for (const r of records)
      for (const n of r.addedNodes) seen.push(n.textContent); }).observe(el, {childList: true}); }"""


def choose_file(page, path: Path):
    page.click("#tab-upload")
    if page.is_checked("#opt-streaming"):
        page.click("#opt-streaming")
    if page.is_checked("#opt-timestamps"):
        page.click("#opt-timestamps")
    page.set_input_files("#file-input", str(path))
    page.wait_for_selector("#file-card:not([hidden])")


# ----------------------------------------------------------------------------- demo + samples
def test_demo_mode_shows_a_translated_badge_with_what_it_means(open_page, stack):
    assert httpx.get(stack.url("/health"), timeout=30).json()["demo"] is True
    page, watch = open_page()
    page.wait_for_selector("#demo-banner:not([hidden])", timeout=30_000)
    assert page.text_content("#demo-badge").strip() == catalog("en")["demo.badge"]
    assert "./start.sh" in page.text_content("#demo-banner")
    page.click("[data-ui-lang='ja']")
    page.wait_for_function("document.documentElement.lang === 'ja'")
    assert page.text_content("#demo-badge").strip() == catalog("ja")["demo.badge"]
    watch.assert_clean()


def test_without_demo_there_is_no_badge(open_page, stack):
    page, _ = open_page()
    page.wait_for_selector("#demo-banner:not([hidden])", timeout=30_000)

    def not_demo(route):
        response = route.fetch()
        body = response.json()
        body["demo"] = False
        route.fulfill(response=response, body=json.dumps(body))

    page.route("**/api/status", not_demo)
    page.evaluate("() => document.dispatchEvent(new Event('visibilitychange'))")
    page.wait_for_selector("#demo-banner[hidden]", state="attached", timeout=30_000)


def test_a_sample_clip_loads_with_its_language_and_transcribes(open_page, stack):
    page, watch = open_page()
    wait_for_models(page)
    page.wait_for_selector("#samples:not([hidden]) [data-sample='mandarin']", timeout=30_000)
    assert page.locator("#samples [data-sample]").count() == 3
    page.click("[data-sample='mandarin']")
    page.wait_for_selector("#file-card:not([hidden])")
    assert page.text_content("#file-name").strip() == "sample-mandarin.wav"
    page.wait_for_function("/\\d:\\d\\d/.test(document.getElementById('file-duration').textContent)", timeout=30_000)
    if page.is_checked("#opt-streaming"):
        page.click("#opt-streaming")
    if page.is_checked("#opt-timestamps"):
        page.click("#opt-timestamps")
    page.click("#go-btn")
    page.wait_for_selector("#result-card[data-state='done']", timeout=RESULT_TIMEOUT_MS)
    # the scripted 1.7B answers a forced Chinese request in Chinese: the sample picked zh for it
    assert page.text_content("#transcript").strip() == "你好世界"
    page.evaluate("localStorage.removeItem('qwen-asr.settings')")
    watch.assert_clean()


# ----------------------------------------------------------------------------- progress
def test_a_long_file_shows_progress_rising_and_the_text_growing(open_page, stack, audio, tmp_path):
    path, seconds = long_speech(audio["speech_en"], tmp_path / "long.wav", 2.6 * UI_PIECE_SECONDS)
    assert path.stat().st_size < 2 * 1024 * 1024 and seconds > 2 * UI_PIECE_SECONDS
    page, watch = open_page()
    wait_for_models(page)
    choose_file(page, path)
    page.evaluate(RECORD_TEXT, "#pending-percent")
    page.evaluate(RECORD_TEXT, "#pending-text")
    requests = []
    page.on("request", lambda r: requests.append(r) if r.url.endswith("/api/transcribe") else None)
    page.click("#go-btn")
    page.wait_for_selector("#result-card[data-state='done']", timeout=RESULT_TIMEOUT_MS)
    assert requests and requests[0].headers.get("accept") == "text/event-stream"
    percents = [int(p.rstrip("%")) for p in page.evaluate("window.__seen['#pending-percent']")]
    assert 0 in percents, percents
    server = percents[percents.index(0):]  # the upload's percents come first, then the server's from 0
    assert any(0 < p < 100 for p in server), percents
    assert server == sorted(server) and server[-1] == 100, percents
    texts = [t for t in page.evaluate("window.__seen['#pending-text']") if t]
    final = page.text_content("#transcript").strip()
    assert texts and len(texts[0]) < len(final) and final.startswith(texts[0]), (texts, final)
    assert final.count("hello world") >= 3
    watch.assert_clean(requests=False)


def test_cancel_during_the_upload_restores_the_page(open_page, stack, audio):
    page, watch = open_page()
    wait_for_models(page)
    held = []
    page.route("**/api/transcribe", lambda route: held.append(route))  # never answered: a slow network
    choose_file(page, audio["speech_en"])
    page.wait_for_function("/\\d:\\d\\d/.test(document.getElementById('file-duration').textContent)", timeout=30_000)
    page.click("#go-btn")
    page.wait_for_selector("#result-card[data-state='pending']")
    assert page.is_visible("#busy-timer")
    page.click("#cancel-btn")
    page.wait_for_selector("#result-card[data-state='empty']", timeout=10_000)
    assert page.is_enabled("#go-btn")
    assert not watch.page_errors, watch.page_errors
    for route in held:
        route.abort()
    page.unroute("**/api/transcribe")


# ----------------------------------------------------------------------------- errors
def test_a_failed_job_stays_in_the_card_with_retry(open_page, stack, audio):
    page, watch = open_page()
    wait_for_models(page)
    choose_file(page, audio["silence"])
    page.wait_for_function("/\\d:\\d\\d/.test(document.getElementById('file-duration').textContent)", timeout=30_000)
    page.click("#go-btn")
    page.wait_for_selector("#result-card[data-state='error']", timeout=RESULT_TIMEOUT_MS)
    code = page.text_content("#error-meta")
    assert "silent_audio" in code or "HTTP 422" in code, code
    assert page.text_content("#error-title").strip() == catalog("en")["errcode.silent_audio"]
    assert page.text_content("#error-message").strip()
    page.wait_for_timeout(11_000)  # longer than an error toast lives
    assert page.is_visible("#result-error") and page.is_visible("#retry-btn")
    with page.expect_response("**/api/transcribe", timeout=RESULT_TIMEOUT_MS) as answer:
        page.click("#retry-btn")  # the same file again
    assert answer.value.status == 422
    page.wait_for_selector("#result-card[data-state='error']", timeout=RESULT_TIMEOUT_MS)
    assert page.text_content("#error-title").strip() == catalog("en")["errcode.silent_audio"]
    assert not watch.page_errors, watch.page_errors  # the console names the 422s; nothing threw


def test_a_proxy_html_page_is_never_shown_raw(open_page, stack, audio):
    page, _ = open_page()
    wait_for_models(page)
    page.route("**/api/transcribe", lambda route: route.fulfill(
        status=502, content_type="text/html",
        body="<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>"))
    choose_file(page, audio["speech_en"])
    page.wait_for_function("/\\d:\\d\\d/.test(document.getElementById('file-duration').textContent)", timeout=30_000)
    page.click("#go-btn")
    page.wait_for_selector("#result-card[data-state='error']", timeout=30_000)
    shown = page.text_content("#result-error")
    assert "<" not in shown and "nginx" not in shown
    assert page.text_content("#error-title").strip() == catalog("en")["errcode.proxy"]
    assert "502" in page.text_content("#error-message")


# ----------------------------------------------------------------------------- refused before upload
def test_files_the_server_would_refuse_are_not_uploaded(open_page, stack, audio, tmp_path):
    page, watch = open_page()
    wait_for_models(page)
    page.wait_for_function("document.getElementById('app-version').textContent !== ''", timeout=30_000)
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.url.endswith("/api/transcribe") else None)
    big = write_array(tmp_path / "big.wav", np.zeros(16000 * 70, np.float32))  # 2.2 MB > max_upload_mb 2
    choose_file(page, big)
    page.wait_for_selector("#file-hint:not([hidden])")
    assert "2 MB" in page.text_content("#file-hint") or "MB" in page.text_content("#file-hint")
    assert page.is_disabled("#go-btn")
    page.keyboard.press("Control+Enter")
    junk = tmp_path / "notes.wav"
    junk.write_bytes(b"this is not audio, only text pretending " * 40)
    choose_file(page, junk)
    page.wait_for_function("document.getElementById('file-hint-text').textContent.includes('browser')", timeout=30_000)
    assert page.is_disabled("#go-btn")
    choose_file(page, audio["speech_en"])
    page.wait_for_selector("#file-hint", state="hidden")
    page.wait_for_function("!document.getElementById('go-btn').disabled", timeout=30_000)
    assert posts == []
    watch.assert_clean(requests=False)


# ----------------------------------------------------------------------------- offline
def test_an_unreachable_service_greys_the_panels_and_disables_actions(open_page, stack, audio):
    page, _ = open_page()
    wait_for_models(page)
    choose_file(page, audio["speech_en"])
    page.wait_for_function("!document.getElementById('go-btn').disabled", timeout=30_000)
    page.route("**/api/status", lambda route: route.abort("connectionrefused"))
    page.evaluate("() => document.dispatchEvent(new Event('visibilitychange'))")
    page.wait_for_selector("#gpu-card[data-offline='true']", timeout=30_000)
    assert page.get_attribute("#service-status", "data-state") == "offline"
    assert page.is_disabled("#go-btn") and page.is_disabled("#release-all")
    grey = page.evaluate("getComputedStyle(document.getElementById('gpu-card')).filter")
    assert "grayscale" in grey
    page.unroute("**/api/status")
    page.evaluate("() => document.dispatchEvent(new Event('visibilitychange'))")
    page.wait_for_selector("#gpu-card[data-offline='false']", timeout=30_000)
    assert page.is_enabled("#go-btn")


# ----------------------------------------------------------------------------- language names
def test_the_picker_finds_dialects_in_either_han_script(open_page, stack):
    page, _ = open_page(ui_lang="zh-TW")
    page.wait_for_function("document.querySelectorAll('#lang-listbox [role=option]').length > 50", timeout=30_000)
    page.fill("#lang-input", "粤")
    names = page.locator("#lang-listbox [role=option]").all_text_contents()
    assert any("粵語" in n for n in names), names
    page.fill("#lang-input", "東北")
    names = page.locator("#lang-listbox [role=option]").all_text_contents()
    assert any("东北话" in n or "東北" in n for n in names), names
    page.fill("#lang-input", "Sichuan")
    assert page.locator("#lang-listbox [role=option]").count() >= 1


def test_the_api_takes_model_card_dialect_names(stack, audio):
    with open(audio["speech_en"], "rb") as handle:
        response = httpx.post(stack.url("/api/transcribe"), files={"file": ("a.wav", handle)},
                              data={"language": "Sichuan"}, timeout=120)
    assert response.status_code == 200, response.text
    assert response.json()["language"] == "Chinese"
