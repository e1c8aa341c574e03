"""The web UI in a real browser (Debian Chromium through Playwright) against the real stack.

The stack's tiny "scripted" checkpoints always transcribe to "hello world" (English), so the page's
results can be asserted exactly. The fake microphone plays an espeak-ng fixture.

Screenshots: every run renders the desktop (1440x900) and mobile (390x844) views; with
UPDATE_SCREENSHOTS=1 they are written to docs/screenshots/, otherwise to a temporary folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import httpx
import pytest

from tests.requirements_check import require_file, require_module

ROOT = Path(__file__).resolve().parents[1]
I18N = ROOT / "ui" / "i18n"
CHROMIUM = "/usr/bin/chromium"
SCRIPTED_TEXT = "hello world"
RESULT_TIMEOUT_MS = 240_000  # a cold model scales up from zero on a busy CPU first
LAUNCH_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]
UI_LANGS = ["en", "zh-CN", "zh-TW", "ja"]
SRT_BLOCK = re.compile(r"^(\d+)\n(\d\d:\d\d:\d\d,\d{3}) --> (\d\d:\d\d:\d\d,\d{3})\n(.+)$")
VTT_CUE = re.compile(r"^(?:(\S+)\n)?(\d\d:\d\d:\d\d\.\d{3}) --> (\d\d:\d\d:\d\d\.\d{3})\n(.+)$")


def catalog(lang: str) -> dict[str, str]:
    return json.loads((I18N / f"{lang}.json").read_text(encoding="utf-8"))


def seconds(stamp: str) -> float:
    h, m, rest = stamp.replace(",", ".").split(":")
    return int(h) * 3600 + int(m) * 60 + float(rest)


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def browser(audio):
    # Missing Playwright or Chromium fails every browser test with what to install (tests/requirements_check.py).
    sync_api = require_module(
        "playwright.sync_api", "pip install -e '.[test]' (playwright is a test dependency in pyproject.toml)")
    require_file(CHROMIUM, "apt-get install chromium (Debian's package; `make apt` installs it)")
    mic = audio["speech_en"]
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM, args=[*LAUNCH_ARGS, f"--use-file-for-fake-audio-capture={mic}"],
        )
        yield b
        b.close()


class Watch:
    """Console errors, uncaught exceptions, failed requests and HTTP errors seen by a page."""

    def __init__(self, page):
        self.console: list[str] = []
        self.page_errors: list[str] = []
        self.failed: list[str] = []
        self.http_errors: list[str] = []
        page.on("console", lambda m: self.console.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        page.on("requestfailed", lambda r: self.failed.append(f"{r.method} {r.url} {r.failure}"))
        page.on("response", lambda r: self.http_errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    def reload(self, page):
        """Reload; a poll that was in flight is aborted by the navigation, which is no failure."""
        page.reload()
        page.wait_for_selector("html[data-ready='true']", timeout=60_000)
        self.failed = [f for f in self.failed if "ERR_ABORTED" not in f]

    def assert_clean(self, *, requests: bool = True):
        assert not self.page_errors, self.page_errors
        assert not self.console, self.console
        if requests:
            assert not self.failed, self.failed
            assert not self.http_errors, self.http_errors


@pytest.fixture
def open_page(browser, stack):
    contexts = []

    def _open(*, width=1440, height=900, locale="en-US", ui_lang: str | None = "en", scale=1):
        ctx = browser.new_context(viewport={"width": width, "height": height}, locale=locale,
                                  device_scale_factor=scale, accept_downloads=True)
        ctx.grant_permissions(["microphone"], origin=stack.base_url)
        if ui_lang:
            # first load only: a reload must keep what the page itself stored
            ctx.add_init_script(f"try {{ if (!localStorage.getItem('qwen-asr.ui-lang')) localStorage.setItem('qwen-asr.ui-lang', '{ui_lang}') }} catch (e) {{}}")
        contexts.append(ctx)
        page = ctx.new_page()
        watch = Watch(page)
        page.goto(f"{stack.base_url}/")
        page.wait_for_selector("html[data-ready='true']", timeout=60_000)
        return page, watch

    yield _open
    for ctx in contexts:
        ctx.close()


def wait_for_models(page):
    page.wait_for_function("document.querySelectorAll('#model-list .model').length >= 3", timeout=60_000)


def upload_and_transcribe(page, wav: Path, *, timestamps: bool):
    page.click("#tab-upload")
    if page.is_checked("#opt-streaming"):
        page.click("#opt-streaming")
    if page.is_checked("#opt-timestamps") != timestamps:
        page.click("#opt-timestamps")
    page.set_input_files("#file-input", str(wav))
    page.wait_for_selector("#file-card:not([hidden])")
    page.wait_for_function("/\\d:\\d\\d/.test(document.getElementById('file-duration').textContent)", timeout=30_000)
    page.click("#go-btn")
    page.wait_for_selector("#result-card[data-state='done']", timeout=RESULT_TIMEOUT_MS)


def api_status(stack) -> dict:
    return httpx.get(stack.url("/api/status"), timeout=30).json()


# ----------------------------------------------------------------------------- page load
def test_page_loads_without_console_errors_or_failed_requests(open_page, stack):
    page, watch = open_page()
    wait_for_models(page)
    page.wait_for_selector("#service-status[data-state='online'], #service-status[data-state='busy']", timeout=30_000)
    assert page.title() == "Qwen3-ASR Studio"
    # every asset came from this host
    hosts = page.evaluate("performance.getEntriesByType('resource').map(e => new URL(e.name).host)")
    assert hosts and set(hosts) == {stack.base_url.split("//")[1]}
    # the empty state invites the user in
    assert page.is_visible("#result-empty")
    assert page.is_disabled("#go-btn")
    page.wait_for_timeout(1500)  # a polling round of the GPU panel
    watch.assert_clean()


def test_controls_are_labelled_for_assistive_technology(open_page):
    page, watch = open_page()
    unlabelled = page.evaluate("""() => Array.from(document.querySelectorAll('button, input, select, textarea, [role=button], [role=switch], [role=combobox]'))
        .filter(el => !el.closest('[hidden]') && el.type !== 'file' && el.type !== 'radio')
        .filter(el => {
          const name = (el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || el.textContent || el.title || '').trim();
          const label = el.id && document.querySelector(`label[for="${el.id}"]`);
          return !name && !label && !el.closest('label');
        }).map(el => el.outerHTML.slice(0, 120))""")
    assert unlabelled == []
    # keyboard: the drop zone and the tabs are reachable and operable
    page.focus("#tab-upload")
    page.keyboard.press("ArrowRight")
    assert page.get_attribute("#tab-mic", "aria-selected") == "true"
    assert page.evaluate("document.activeElement.id") == "tab-mic"
    page.keyboard.press("ArrowLeft")
    assert page.get_attribute("#tab-upload", "aria-selected") == "true"
    assert page.get_attribute("#dropzone", "tabindex") == "0"
    watch.assert_clean()


# ----------------------------------------------------------------------------- upload + results
@pytest.fixture(scope="module")
def transcribed(browser, stack, audio):
    """One page with an uploaded fixture transcribed with timestamps, shared by the result tests."""
    ctx = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-US", accept_downloads=True)
    ctx.add_init_script("try { localStorage.setItem('qwen-asr.ui-lang', 'en') } catch (e) {}")
    page = ctx.new_page()
    watch = Watch(page)
    page.goto(f"{stack.base_url}/")
    page.wait_for_selector("html[data-ready='true']", timeout=60_000)
    upload_and_transcribe(page, audio["speech_en"], timestamps=True)
    yield page, watch
    ctx.close()


def test_upload_shows_file_details_and_player(transcribed, audio):
    page, watch = transcribed
    assert page.text_content("#file-name") == audio["speech_en"].name
    assert re.search(r"\d+(\.\d+)? KB", page.text_content("#file-size"))
    assert re.fullmatch(r"0:0\d\.\d", page.text_content("#file-duration").strip())
    assert page.get_attribute("#file-audio", "src").startswith("blob:")
    watch.assert_clean(requests=False)


def test_upload_shows_text_language_and_performance(transcribed, stack):
    page, watch = transcribed
    assert page.text_content("#transcript").strip() == SCRIPTED_TEXT
    assert page.is_visible("#badge-lang")
    assert page.text_content("#badge-lang-text").strip() == "English"
    for stat in ("perf-rtf", "perf-process", "perf-duration", "perf-load", "perf-total"):
        value = page.text_content(f"#{stat}").strip()
        assert re.search(r"\d", value), f"{stat} = {value!r}"
    assert re.fullmatch(r"\d+\.\d+ s", page.text_content("#perf-duration").strip())
    gpu_text = page.text_content("#perf-gpu").strip()
    if api_status(stack)["gpu"]["available"]:
        assert re.search(r"\d.*/.*\d", gpu_text)
    else:
        assert gpu_text == catalog("en")["perf.noGpu"]
    watch.assert_clean(requests=False)


def test_timestamps_are_visualised_and_playable(transcribed):
    page, watch = transcribed
    assert page.is_visible("#ts-section")
    words = page.locator("#ts-words .word")
    assert words.count() >= 1
    assert words.first.text_content().startswith("hello")
    # the waveform canvas is painted (non-transparent pixels) with the segments on it
    painted = page.evaluate("""() => { const c = document.getElementById('ts-canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }""")
    assert painted > 1000
    # click a word: it becomes the karaoke highlight and exactly its span plays. A short span can be
    # over before the next read, so the word's class changes are recorded as they happen.
    page.evaluate("""() => { const w = document.querySelector('#ts-words .word'); window.__wordClasses = [];
        new MutationObserver(() => window.__wordClasses.push(w.className))
            .observe(w, {attributes: true, attributeFilter: ['class']}); }""")
    words.first.click()
    page.wait_for_function("window.__wordClasses.some((c) => c.split(' ').includes('is-active'))", timeout=15_000)
    page.wait_for_function("document.getElementById('ts-audio').currentTime > 0", timeout=15_000)
    page.wait_for_function("document.getElementById('ts-audio').paused", timeout=30_000)
    end = float(page.get_attribute("#ts-words .word >> nth=0", "title").split("–")[1].split()[0])
    stopped, duration = page.evaluate("[document.getElementById('ts-audio').currentTime, "
                                      "document.getElementById('ts-audio').duration]")
    # it stopped on its own at the word's end, not at the clip's: the stop is a timer, which a loaded
    # machine fires late by up to about a second (the stop point itself is timeline-hit's unit test)
    assert end - 0.05 <= stopped < min(end + 1.0, duration - 0.5), (stopped, end, duration)
    # table view
    page.click("#ts-view-table")
    assert page.is_visible("#ts-table-wrap")
    rows = page.locator("#ts-table tbody tr")
    assert rows.count() == words.count()
    cells = rows.first.locator("td").all_text_contents()
    assert cells[1].startswith("hello") and re.fullmatch(r"\d+\.\d{3}", cells[2])
    page.click("#ts-view-words")
    # canvas: keyboard moves between words and Enter plays one
    first_start = float(page.get_attribute("#ts-words .word >> nth=0", "title").split("–")[0])
    page.evaluate("(() => { const a = document.getElementById('ts-audio'); a.pause(); a.currentTime = 0; })()")
    page.wait_for_function("document.getElementById('ts-audio').currentTime === 0")
    page.focus("#ts-canvas")
    page.keyboard.press("End")
    page.keyboard.press("Home")
    page.keyboard.press("Enter")
    page.wait_for_function(f"document.getElementById('ts-audio').currentTime >= {first_start} - 0.01", timeout=10_000)
    watch.assert_clean(requests=False)


def download(page, kind: str) -> tuple[str, str]:
    with page.expect_download() as info:
        page.click(f"[data-export='{kind}']")
    dl = info.value
    return dl.suggested_filename, Path(dl.path()).read_text(encoding="utf-8")


def served_download(page, kind: str) -> tuple[str, str, dict]:
    """A subtitle download: the file, and the JSON body the page posted to /api/subtitles for it."""
    with page.expect_request(lambda r: r.url.endswith("/api/subtitles") and r.method == "POST") as request:
        name, text = download(page, kind)
    return name, text, json.loads(request.value.post_data)


def test_downloads_are_valid_txt_json_srt_vtt(transcribed, audio, stack):
    page, watch = transcribed
    stem = audio["speech_en"].stem
    name, txt = download(page, "txt")
    assert name == f"{stem}.txt" and txt == f"{SCRIPTED_TEXT}\n"
    name, raw = download(page, "json")
    data = json.loads(raw)
    assert name == f"{stem}.json" and data["text"] == SCRIPTED_TEXT and data["timestamps"]

    name, srt, sent = served_download(page, "srt")
    assert name == f"{stem}.srt"
    # the server cut the cues: the page saved exactly what /api/subtitles answers for the shown result,
    # and that is the file /v1 gives for the same audio
    assert sent == {"text": data["text"], "timestamps": data["timestamps"], "format": "srt",
                    "duration_seconds": data["duration_seconds"]}
    assert srt == httpx.post(stack.url("/api/subtitles"), json=sent, timeout=60).text
    with open(audio["speech_en"], "rb") as handle:
        v1 = httpx.post(stack.url("/v1/audio/transcriptions"), files={"file": (audio["speech_en"].name, handle)},
                        data={"response_format": "srt", "language": "en"}, timeout=120)
    assert srt == v1.text
    blocks = srt.strip().split("\n\n")
    assert blocks
    last_end = 0.0
    for i, block in enumerate(blocks, 1):
        m = SRT_BLOCK.match(block)
        assert m, block
        assert int(m.group(1)) == i
        start, end = seconds(m.group(2)), seconds(m.group(3))
        assert last_end - 1e-3 <= start <= end
        last_end = end
    assert " ".join(SRT_BLOCK.match(b).group(4) for b in blocks) == SCRIPTED_TEXT
    assert seconds(SRT_BLOCK.match(blocks[0]).group(2)) == pytest.approx(data["timestamps"][0]["start"], abs=1e-3)

    name, vtt, sent = served_download(page, "vtt")
    assert name == f"{stem}.vtt" and sent["format"] == "vtt"
    assert vtt == httpx.post(stack.url("/api/subtitles"), json=sent, timeout=60).text
    assert vtt.startswith("WEBVTT\n\n")
    cues = vtt[len("WEBVTT\n\n"):].strip().split("\n\n")
    assert len(cues) == len(blocks)
    for cue in cues:
        m = VTT_CUE.match(cue)
        assert m, cue
        assert seconds(m.group(2)) <= seconds(m.group(3))
    watch.assert_clean(requests=False)


def test_subtitles_without_word_times_show_the_server_error(open_page, audio):
    """Timestamps off: the SRT button asks the server, which says why it cannot; the page shows that."""
    page, watch = open_page()
    upload_and_transcribe(page, audio["speech_en"], timestamps=False)
    with page.expect_response(lambda r: r.url.endswith("/api/subtitles")) as answer:
        page.click("[data-export='srt']")
    assert answer.value.status == 400
    message = answer.value.json()["error"]["message"]
    toast = page.wait_for_selector(".toast[data-type='error']", timeout=30_000)
    assert message in toast.text_content()
    assert not page.is_disabled("[data-export='srt']")
    assert not watch.page_errors


def test_copy_button_copies_the_transcript(transcribed):
    page, watch = transcribed
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.click("#copy-btn")
    page.wait_for_selector(".toast[data-type='success']")
    assert page.evaluate("navigator.clipboard.readText()") == SCRIPTED_TEXT
    watch.assert_clean(requests=False)


TIMED_LINE = re.compile(r"\[(\d+:\d\d\.\d) – (\d+:\d\d\.\d)\] (.+)")


def test_copy_with_timestamps_copies_the_servers_timed_lines(transcribed, stack):
    """The button asks POST /api/subtitles for `txt` (the subtitle cues as lines) and copies that."""
    page, watch = transcribed
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    with page.expect_request(lambda r: r.url.endswith("/api/subtitles")) as sent:
        page.click("#copy-timed-btn")
    page.wait_for_selector("#copy-timed-btn span:text-is('Copied')")
    copied = page.evaluate("navigator.clipboard.readText()")
    body = sent.value.post_data_json
    assert body["format"] == "txt"
    assert copied == httpx.post(stack.url("/api/subtitles"), json=body, timeout=60).text
    lines = copied.rstrip("\n").split("\n")
    matches = [TIMED_LINE.fullmatch(line) for line in lines]
    assert all(matches), copied
    assert " ".join(m.group(3) for m in matches) == SCRIPTED_TEXT
    watch.assert_clean(requests=False)


def test_copy_with_timestamps_is_offered_only_with_word_times(open_page, audio):
    page, watch = open_page()
    upload_and_transcribe(page, audio["speech_en"], timestamps=False)
    assert page.is_visible("#copy-btn") and page.is_hidden("#copy-timed-btn")
    assert not watch.page_errors


def test_api_error_stays_in_the_card_with_the_server_message(open_page, stack, audio):
    page, watch = open_page()
    page.click("#tab-upload")
    page.set_input_files("#file-input", str(audio["silence"]))
    page.wait_for_selector("#file-card:not([hidden])")
    expected = httpx.post(stack.url("/api/transcribe"), files={"file": ("silence.wav", audio["silence"].read_bytes(), "audio/wav")},
                          timeout=120).json()["error"]["message"]
    page.click("#go-btn")
    # issue 14: a failed job's error stays in the transcript card (not a toast that vanishes)
    card = page.wait_for_selector("#result-card[data-state='error']", timeout=RESULT_TIMEOUT_MS)
    assert expected in page.text_content("#error-message")
    assert card.is_visible() and page.is_visible("#retry-btn")
    assert page.is_visible("#go-btn") and not page.is_visible("#busy")
    assert not watch.page_errors


@pytest.mark.releases_models
def test_cancel_aborts_a_running_request(open_page, stack, audio):
    httpx.post(stack.url("/api/gpu-offload"), json={}, timeout=120)  # the next request has to load a model: slow
    page, watch = open_page()
    page.click("#tab-upload")
    page.set_input_files("#file-input", str(audio["speech_en"]))
    page.wait_for_selector("#file-card:not([hidden])")
    page.click("#go-btn")
    page.wait_for_selector("#busy:not([hidden])")
    page.wait_for_function("document.getElementById('busy-timer').textContent !== '00:00.0'")
    assert page.get_attribute("#result-card", "data-state") == "pending"
    page.click("#cancel-btn")
    page.wait_for_selector("#busy", state="hidden")
    page.wait_for_selector(".toast[data-type='info']")
    assert page.get_attribute("#result-card", "data-state") == "empty"
    assert not page.is_disabled("#go-btn")
    assert not watch.page_errors and not watch.console


# ----------------------------------------------------------------------------- microphone
def test_record_from_fake_microphone_and_transcribe(open_page):
    page, watch = open_page()
    page.click("#tab-mic")
    if page.is_checked("#opt-streaming"):
        page.click("#opt-streaming")
    page.click("#mic-btn")
    page.wait_for_selector("#mic-stage[data-state='recording']", timeout=15_000)
    assert page.get_attribute("#mic-btn", "aria-pressed") == "true"
    page.wait_for_function("+document.getElementById('mic-level').getAttribute('aria-valuenow') > 0", timeout=10_000)
    page.wait_for_function("document.getElementById('mic-timer').textContent >= '00:02.5'", timeout=15_000)
    assert page.is_disabled("#go-btn")  # nothing is sent while recording
    page.click("#mic-btn")
    page.wait_for_selector("#rec-card:not([hidden])")
    duration = page.text_content("#rec-duration").strip()
    m = re.fullmatch(r"(\d+):(\d\d\.\d)", duration)
    assert m and int(m.group(1)) * 60 + float(m.group(2)) >= 2.0, duration
    assert page.get_attribute("#rec-audio", "src").startswith("blob:")
    # the recording is playable before sending
    page.evaluate("document.getElementById('rec-audio').play()")
    page.wait_for_function("document.getElementById('rec-audio').currentTime > 0", timeout=10_000)
    page.evaluate("document.getElementById('rec-audio').pause()")
    page.click("#go-btn")
    page.wait_for_selector("#result-card[data-state='done']", timeout=RESULT_TIMEOUT_MS)
    assert page.text_content("#transcript").strip() == SCRIPTED_TEXT
    watch.assert_clean(requests=False)


def test_denied_microphone_gets_a_clear_message(browser, stack):
    ctx = browser.new_context(viewport={"width": 1200, "height": 900}, locale="en-US")
    ctx.add_init_script("""
        try { localStorage.setItem('qwen-asr.ui-lang', 'en') } catch (e) {}
        navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));
    """)
    try:
        page = ctx.new_page()
        page.goto(f"{stack.base_url}/")
        page.wait_for_selector("html[data-ready='true']")
        page.click("#tab-mic")
        page.click("#mic-btn")
        toast = page.wait_for_selector(".toast[data-type='error']")
        assert catalog("en")["mic.err.denied"] in toast.text_content()
        assert page.text_content("#mic-hint") == catalog("en")["mic.err.denied"]
        assert page.get_attribute("#mic-stage", "data-state") == "idle"
    finally:
        ctx.close()


# ----------------------------------------------------------------------------- UI languages
@pytest.mark.parametrize("lang", UI_LANGS)
def test_switching_ui_language_translates_labels(open_page, lang):
    page, watch = open_page(ui_lang="en")
    wait_for_models(page)
    page.click(f"[data-ui-lang='{lang}']")
    page.wait_for_function(f"document.documentElement.lang === '{lang}'")
    cat = catalog(lang)
    assert page.get_attribute(f"[data-ui-lang='{lang}']", "aria-pressed") == "true"
    assert page.text_content("#go-label") == cat["action.transcribe"]
    assert page.text_content("[data-i18n='settings.title']") == cat["settings.title"]
    assert page.text_content("[data-i18n='gpu.releaseAll']") == cat["gpu.releaseAll"]
    assert page.text_content("[data-i18n='result.emptyTitle']") == cat["result.emptyTitle"]
    assert page.get_attribute("#lang-input", "placeholder") == cat["settings.languageSearch"]
    assert page.input_value("#lang-input") == cat["lang.auto"]
    states = {cat[f"state.{s}"] for s in ("not_loaded", "loading", "loaded", "releasing")}
    page.wait_for_function("document.querySelector('[data-testid=model-state]')")
    assert set(page.locator("[data-testid='model-state']").all_text_contents()) <= states
    # the choice persists across a reload
    watch.reload(page)
    assert page.evaluate("document.documentElement.lang") == lang
    assert page.text_content("#go-label") == cat["action.transcribe"]
    watch.assert_clean()


@pytest.mark.parametrize("locale,expected", [("zh-CN", "zh-CN"), ("zh-TW", "zh-TW"), ("zh-HK", "zh-TW"),
                                             ("ja-JP", "ja"), ("en-GB", "en"), ("fr-FR", "en")])
def test_first_visit_follows_the_browser_language(open_page, locale, expected):
    page, watch = open_page(locale=locale, ui_lang=None)
    assert page.evaluate("document.documentElement.lang") == expected
    assert page.text_content("#go-label") == catalog(expected)["action.transcribe"]
    watch.assert_clean()


# ----------------------------------------------------------------------------- language picker
def test_language_picker_has_52_languages_plus_auto_in_three_groups(open_page, stack):
    api = httpx.get(stack.url("/api/languages"), timeout=30).json()
    page, watch = open_page()
    page.wait_for_function("document.querySelectorAll('#lang-listbox [role=option]').length > 1", timeout=30_000)
    page.click("#lang-input")
    assert page.get_attribute("#lang-input", "aria-expanded") == "true"
    options = page.locator("#lang-listbox [role='option']")
    assert options.count() == 53 == len(api["languages"])
    assert options.first.get_attribute("data-code") == "auto"
    groups = page.locator("#lang-listbox [role='group']")
    assert groups.count() == 3
    assert [groups.nth(i).get_attribute("data-group") for i in range(3)] == ["common", "dialect", "other"]
    for i, label_key in enumerate(["lang.groupCommon", "lang.groupDialect", "lang.groupOther"]):
        group = groups.nth(i)
        want = sum(1 for lang in api["languages"] if lang["group"] == group.get_attribute("data-group"))
        assert group.locator("[role='option']").count() == want
        assert group.locator(".group-label").text_content().startswith(catalog("en")[label_key])
    # search as you type: by native name, English name and code
    page.fill("#lang-input", "四川")
    assert page.locator("#lang-listbox [role='option']").all() and \
        [o.get_attribute("data-code") for o in page.locator("#lang-listbox [role='option']").all()] == ["zh-sichuan"]
    page.fill("#lang-input", "japan")
    assert [o.get_attribute("data-code") for o in page.locator("#lang-listbox [role='option']").all()] == ["ja"]
    page.keyboard.press("Enter")
    assert page.get_attribute("#lang-input", "aria-expanded") == "false"
    assert page.input_value("#lang-input") == "Japanese"
    page.fill("#lang-input", "zzzz-no-such-language")
    assert page.is_visible("#lang-empty")
    page.keyboard.press("Escape")
    assert page.input_value("#lang-input") == "Japanese"
    # keyboard: arrows move, Enter picks; the choice persists
    page.click("#lang-input")
    page.keyboard.press("Home")
    page.keyboard.press("Enter")
    assert page.input_value("#lang-input") == "Auto-detect"
    page.click("#lang-input")
    page.fill("#lang-input", "fr")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    chosen = page.evaluate("JSON.parse(localStorage.getItem('qwen-asr.settings')).language")
    assert chosen != "auto"
    watch.reload(page)
    page.wait_for_function("document.querySelectorAll('#lang-listbox [role=option]').length > 1", timeout=30_000)
    assert page.evaluate("JSON.parse(localStorage.getItem('qwen-asr.settings')).language") == chosen
    watch.assert_clean()


def test_forced_language_and_model_are_sent(open_page, audio):
    page, watch = open_page()
    page.wait_for_function("document.querySelectorAll('#lang-listbox [role=option]').length > 1", timeout=30_000)
    page.click("#lang-input")
    page.fill("#lang-input", "english")
    page.keyboard.press("Enter")
    page.click("label.seg-opt:has(input[value='qwen3-asr-0.6b'])")
    assert page.is_checked("input[name='model'][value='qwen3-asr-0.6b']")
    page.fill("#opt-context", "hello, world")
    # Chromium does not expose multipart bodies with files to Playwright: record the form fields in the page,
    # whichever way the page sends them (XMLHttpRequest, for upload progress, or fetch).
    page.evaluate("""() => { window.__sent = [];
        const record = (url, body) => {
          if (String(url).endsWith('/api/transcribe') && body instanceof FormData) {
            window.__sent.push(Object.fromEntries([...body.entries()].map(([k, v]) => [k, typeof v === 'string' ? v : `file:${v.name}`])));
          }
        };
        const origFetch = window.fetch;
        window.fetch = (url, opts = {}) => { record(url, opts.body); return origFetch(url, opts); };
        const origOpen = XMLHttpRequest.prototype.open;
        const origSend = XMLHttpRequest.prototype.send;
        XMLHttpRequest.prototype.open = function (method, url, ...rest) { this.__url = url; return origOpen.call(this, method, url, ...rest); };
        XMLHttpRequest.prototype.send = function (body) { record(this.__url, body); return origSend.call(this, body); };
        }""")
    upload_and_transcribe(page, audio["speech_en"], timestamps=False)
    sent = page.evaluate("window.__sent")
    assert len(sent) == 1
    assert sent[0] == {"file": f"file:{audio['speech_en'].name}", "language": "en", "model": "qwen3-asr-0.6b",
                       "return_timestamps": "false", "context": "hello, world"}
    assert "0.6B" in page.text_content("#badge-model")
    assert page.is_hidden("#ts-section")
    watch.assert_clean(requests=False)


# ----------------------------------------------------------------------------- GPU panel
@pytest.mark.releases_models
def test_gpu_panel_shows_model_states_and_release_unloads_them(open_page, stack, audio):
    r = httpx.post(stack.url("/api/transcribe"), files={"file": ("a.wav", audio["speech_en"].read_bytes(), "audio/wav")},
                   data={"model": "qwen3-asr-1.7b"}, timeout=300)
    assert r.status_code == 200, r.text
    status = api_status(stack)
    page, watch = open_page()
    wait_for_models(page)
    en = catalog("en")
    if status["gpu"]["available"]:
        assert page.locator("#gpu-list .gpu").count() == len(status["gpu"]["gpus"])
        assert page.locator("#gpu-list .mem-bar").count() == len(status["gpu"]["gpus"])
    else:
        assert page.is_visible("#gpu-list .no-gpu")
        assert en["gpu.none"] in page.text_content("#gpu-list")
    for model_id, info in status["models"].items():
        row = page.locator(f"#model-list .model[data-model='{model_id}']")
        assert row.count() == 1
        assert (info.get("label") or model_id) in row.text_content()
    loaded = page.locator("#model-list .model[data-model='qwen3-asr-1.7b']")
    page.wait_for_function("document.querySelector(\"#model-list .model[data-model='qwen3-asr-1.7b']\").dataset.state === 'loaded'",
                           timeout=60_000)
    assert loaded.locator("[data-testid='model-state']").text_content() == en["state.loaded"]
    countdown = loaded.locator(".countdown").text_content()
    assert re.search(r"\d+:\d\d", countdown)
    assert page.get_attribute("[data-model-dot='qwen3-asr-1.7b']", "data-state") == "loaded"
    assert not page.is_disabled("#release-all")
    page.click("#release-all")
    page.wait_for_selector(".toast[data-type='success']", timeout=180_000)
    page.wait_for_function("""Array.from(document.querySelectorAll('[data-testid=model-state]'))
        .every(el => el.dataset.state === 'not_loaded')""", timeout=120_000)
    assert set(page.locator("[data-testid='model-state']").all_text_contents()) == {en["state.not_loaded"]}
    assert all(m["state"] == "not_loaded" for m in api_status(stack)["models"].values())
    assert page.is_disabled("#release-all")
    watch.assert_clean()


@pytest.mark.releases_models
def test_release_one_model(open_page, stack, audio):
    httpx.post(stack.url("/api/transcribe"), files={"file": ("a.wav", audio["speech_en"].read_bytes(), "audio/wav")},
               data={"model": "qwen3-asr-0.6b"}, timeout=300).raise_for_status()
    page, watch = open_page()
    wait_for_models(page)
    row = "#model-list .model[data-model='qwen3-asr-0.6b']"
    page.wait_for_function(f"document.querySelector(\"{row}\").dataset.state === 'loaded'", timeout=60_000)
    page.click(f"{row} [data-release]")
    page.wait_for_function(f"document.querySelector(\"{row}\").dataset.state === 'not_loaded'", timeout=120_000)
    assert api_status(stack)["models"]["qwen3-asr-0.6b"]["state"] == "not_loaded"
    watch.assert_clean()


# ----------------------------------------------------------------------------- responsive
@pytest.mark.parametrize("width,height", [(390, 844), (360, 740)])
def test_phone_viewport_has_no_horizontal_overflow(open_page, audio, width, height):
    page, watch = open_page(width=width, height=height, scale=2)
    wait_for_models(page)

    def overflow():
        return page.evaluate("""() => {
            const w = document.documentElement.clientWidth;
            // an element sticking out is fine when an ancestor that clips it stays inside the viewport
            const clipped = (el) => {
              for (let a = el.parentElement; a; a = a.parentElement) {
                if (getComputedStyle(a).overflowX !== 'visible') return a.getBoundingClientRect().right <= w + 1;
              }
              return false;
            };
            const bad = Array.from(document.querySelectorAll('main *, header *, footer *'))
              .filter(el => el.offsetParent !== null && !el.closest('.sprite'))
              .filter(el => el.getBoundingClientRect().right > w + 1 && !clipped(el))
              .map(el => el.id || el.className.baseVal || el.className);
            return {scroll: document.documentElement.scrollWidth, client: w, bad: bad.slice(0, 8)};
        }""")

    before = overflow()
    assert before["scroll"] <= before["client"] and not before["bad"], before
    upload_and_transcribe(page, audio["speech_en"], timestamps=True)
    page.click("#lang-input")  # the open picker must fit too
    after = overflow()
    assert after["scroll"] <= after["client"] and not after["bad"], after
    page.keyboard.press("Escape")
    page.click("#tab-mic")
    mic = overflow()
    assert mic["scroll"] <= mic["client"] and not mic["bad"], mic
    watch.assert_clean(requests=False)


# ----------------------------------------------------------------------------- streaming
def streaming_unavailable(stack) -> str | None:
    """None when the server's WebSocket streams; else the reason it does not."""
    from websockets.exceptions import InvalidStatus, WebSocketException
    from websockets.sync.client import connect

    url = stack.ws_url("/api/transcribe/stream")
    try:
        with connect(url, open_timeout=30, close_timeout=5) as ws:
            ws.send(json.dumps({"type": "start", "model": "qwen3-asr-1.7b", "language": "auto", "context": "",
                                "sample_rate": 16000, "format": "pcm_s16le", "return_timestamps": False}))
            while True:
                msg = json.loads(ws.recv(timeout=RESULT_TIMEOUT_MS / 1000))
                if msg.get("type") == "ready":
                    ws.send(json.dumps({"type": "stop"}))
                    return None
                if msg.get("type") == "error":
                    return f"server answered {msg.get('code')}: {msg.get('message')}"
    except InvalidStatus as exc:
        return f"WebSocket handshake refused with HTTP {exc.response.status_code}"
    except (WebSocketException, OSError, TimeoutError) as exc:
        return f"WebSocket failed: {exc!r}"


@pytest.mark.streaming
def test_streaming_from_fake_microphone_shows_partial_then_final(open_page, stack):
    reason = streaming_unavailable(stack)
    if reason:
        pytest.fail(f"the server's WebSocket stream is broken: {reason}", pytrace=False)
    page, watch = open_page()
    started = []  # the start messages the page sent on its WebSockets
    page.on("websocket", lambda ws: ws.on(
        "framesent", lambda frame: started.append(json.loads(frame)) if isinstance(frame, str) and '"start"' in frame
        else None))
    page.click("#tab-mic")
    if not page.is_checked("#opt-streaming"):
        page.click("#opt-streaming")
    assert page.text_content("#go-label") == catalog("en")["action.stream"]
    page.click("#mic-btn")
    page.wait_for_selector("#mic-stage[data-state='recording']", timeout=15_000)
    # partial text appears while still recording
    page.wait_for_function("""document.getElementById('result-card').dataset.state === 'live'
        && (document.getElementById('t-stable').textContent + document.getElementById('t-unstable').textContent).trim().length > 0""",
                           timeout=RESULT_TIMEOUT_MS)
    assert page.get_attribute("#mic-stage", "data-state") == "recording"
    assert page.is_visible("#badge-live")
    # the server's VAD heard the fixture's speech begin: the badge says so while live
    page.wait_for_selector("#badge-speech[data-speaking='true']", state="visible", timeout=RESULT_TIMEOUT_MS)
    assert page.text_content("#badge-speech-text") == catalog("en")["stream.speech"]
    stable = page.text_content("#t-stable")
    partial = (stable + page.text_content("#t-unstable")).strip()
    assert partial
    page.click("#mic-btn")
    page.wait_for_selector("#result-card[data-state='done']", timeout=RESULT_TIMEOUT_MS)
    # the fake microphone loops the fixture, and every utterance of it is "hello world"
    final = page.text_content("#transcript").strip()
    assert re.fullmatch(rf"{SCRIPTED_TEXT}( {SCRIPTED_TEXT})*", final), final
    assert final.startswith(stable.strip())  # stable text never changes afterwards
    assert page.text_content("#t-unstable") == ""
    assert page.is_hidden("#badge-speech"), "the VAD badge belongs to the live stream"
    assert re.search(r"\d", page.text_content("#perf-rtf"))
    assert page.is_visible("#rec-card")  # the streamed audio is kept and playable
    # the microphone streams at its own rate (the server resamples): the start message says which
    device_rate = page.evaluate("(() => { const c = new AudioContext(); const r = c.sampleRate; c.close(); return r; })()")
    assert [m["sample_rate"] for m in started] == [device_rate], started
    watch.assert_clean(requests=False)


@pytest.mark.streaming
def test_streaming_an_uploaded_file(open_page, stack, audio):
    reason = streaming_unavailable(stack)
    if reason:
        pytest.fail(f"the server's WebSocket stream is broken: {reason}", pytrace=False)
    page, watch = open_page()
    page.click("#opt-streaming")
    page.set_input_files("#file-input", str(audio["speech_en"]))
    page.wait_for_function("/\\d:\\d\\d/.test(document.getElementById('file-duration').textContent)", timeout=30_000)
    page.click("#go-btn")
    page.wait_for_selector("#result-card[data-state='live']", timeout=RESULT_TIMEOUT_MS)
    page.wait_for_selector("#result-card[data-state='done']", timeout=RESULT_TIMEOUT_MS)
    assert page.text_content("#transcript").strip() == SCRIPTED_TEXT
    watch.assert_clean(requests=False)


def test_streaming_unavailable_is_reported_not_faked(browser, stack):
    """When the WebSocket is refused, the page says so in a toast and shows no text."""
    ctx = browser.new_context(viewport={"width": 1200, "height": 900}, locale="en-US")
    ctx.grant_permissions(["microphone"], origin=stack.base_url)
    ctx.add_init_script("""
        try { localStorage.setItem('qwen-asr.ui-lang', 'en') } catch (e) {}
        window.WebSocket = class extends EventTarget {
          constructor() { super(); this.readyState = 0; this.bufferedAmount = 0;
            setTimeout(() => { this.readyState = 3; this.onclose && this.onclose({code: 1006, reason: ''}); }, 50); }
          send() {} close() {}
        };
        window.WebSocket.OPEN = 1;
    """)
    try:
        page = ctx.new_page()
        page.goto(f"{stack.base_url}/")
        page.wait_for_selector("html[data-ready='true']")
        page.click("#tab-mic")
        page.click("#opt-streaming")
        page.click("#mic-btn")
        toast = page.wait_for_selector(".toast[data-type='error']", timeout=30_000)
        assert catalog("en")["stream.unavailableTitle"] in toast.text_content()
        assert "1006" in toast.text_content()
        page.wait_for_selector("#mic-stage[data-state='idle']")
        assert page.get_attribute("#result-card", "data-state") == "empty"
        assert page.text_content("#t-stable") == ""
    finally:
        ctx.close()


# ----------------------------------------------------------------------------- screenshots
def test_screenshots_desktop_and_mobile(open_page, stack, audio, tmp_path):
    out = ROOT / "docs" / "screenshots" if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    shots = {"desktop": dict(width=1440, height=900, scale=1), "mobile": dict(width=390, height=844, scale=2)}
    for name, view in shots.items():
        page, watch = open_page(**view)
        # still frames: no animation or smooth scroll half-way through when the picture is taken
        page.emulate_media(reduced_motion="reduce")
        wait_for_models(page)
        upload_and_transcribe(page, audio["speech_en"], timestamps=True)
        page.wait_for_function("document.querySelector(\"#model-list .model[data-state='loaded']\")", timeout=60_000)
        page.locator("#ts-words .word").first.click()  # karaoke highlight mid-word
        page.wait_for_function("document.getElementById('ts-audio').currentTime > 0.6", timeout=15_000)
        page.evaluate("document.getElementById('ts-audio').pause()")
        page.mouse.move(0, 0)
        if name == "desktop":
            page.evaluate("window.scrollTo(0, 0)")
        else:
            page.evaluate("document.getElementById('result-card').scrollIntoView({block: 'start'})")
        page.wait_for_timeout(700)  # let entrance animations settle
        target = out / f"{name}.png"
        page.screenshot(path=str(target))
        assert target.stat().st_size > 20_000
        watch.assert_clean(requests=False)
    if out != ROOT / "docs" / "screenshots":
        shutil.rmtree(out, ignore_errors=True)
