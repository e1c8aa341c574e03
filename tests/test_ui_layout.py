"""Layout, type and status wording of the UI in Chromium (issue 14, items 7 and 8).

320 / 768 / 1024 / 1440 px without horizontal overflow, squeezed labels or CJK tags split mid-word
(the bounding boxes of a tag's characters must share one line); tablets get two columns with the
transcript in view; dim text meets WCAG AA measured from the rendered pixels; word chips show
start–end and a zero-length word stays clickable; the first paint is already in the chosen language;
NVML's reasons are translated; the precision choices are what the server runs; the performance
panel's load wait and the GPU panel's load time use the same words and number.
"""

from __future__ import annotations

import base64
import json
import re

import httpx
import pytest

from tests import test_ui_browser as ui

# the browser fixtures of the main UI test module, shared (one Chromium per module)
browser = ui.browser
open_page = ui.open_page
catalog = ui.catalog
wait_for_models = ui.wait_for_models
upload_and_transcribe = ui.upload_and_transcribe

OVERFLOW = """() => {
  const w = document.documentElement.clientWidth;
  const name = (el) => el.id || el.className.baseVal || el.className || el.tagName;
  const shown = (el) => el.offsetParent !== null && !el.closest('.sprite');
  // an element sticking out is fine when an ancestor that clips it stays inside the viewport
  const clipped = (el) => {
    for (let a = el.parentElement; a; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== 'visible') return a.getBoundingClientRect().right <= w + 1;
    }
    return false;
  };
  const all = Array.from(document.querySelectorAll('main *, header *, footer *, .demo-banner *')).filter(shown);
  const sticking = all.filter((el) => el.getBoundingClientRect().right > w + 1 && !clipped(el)).map(name);
  // a label wider than its own box: flex squeezed a nowrap button (the language switch, the tabs)
  const squeezed = Array.from(document.querySelectorAll('header button, .tab, .ui-lang-btn, .seg-opt, .badge, .state-pill, .btn'))
    .filter(shown).filter((el) => getComputedStyle(el).overflowX === 'visible' && el.scrollWidth > el.clientWidth + 1)
    .map((el) => `${name(el)}: ${el.textContent.trim()} (${el.scrollWidth} > ${el.clientWidth})`);
  return {scroll: document.documentElement.scrollWidth, client: w, sticking: sticking.slice(0, 8), squeezed};
}"""

# Tags whose words must never break: every character of a CJK tag sits on the same line.
SPLIT_CJK_TAGS = """() => {
  const TAGS = '.tag, .badge, .chip-btn, .model-kind, .state-pill, .seg-title, .status-pill, .ui-lang-btn, .demo-badge, .sample-btn, .tab, .card-title, .word, .dz-link';
  const CJK = /[\\u3040-\\u30ff\\u3400-\\u9fff\\uf900-\\ufaff]/;
  const split = [];
  let checked = 0;
  for (const el of document.querySelectorAll(TAGS)) {
    if (el.offsetParent === null || !CJK.test(el.textContent)) continue;
    checked += 1;
    const tops = [];
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.parentElement.closest('small')) continue;  // a chip's time line is meant to sit below
      const box = node.parentElement.getBoundingClientRect();
      if (box.width <= 2 || box.height <= 2) continue;  // visually hidden text for screen readers
      for (let i = 0; i < node.length; i += 1) {
        if (!CJK.test(node.data[i])) continue;
        const range = document.createRange();
        range.setStart(node, i); range.setEnd(node, i + 1);
        const r = range.getBoundingClientRect();
        if (r.width > 0) tops.push({ top: r.top, h: r.height });
      }
    }
    const lines = new Set(tops.map((b) => Math.round(b.top / Math.max(4, b.h * 0.6))));
    if (lines.size > 1) split.push(`${el.className}: ${el.textContent.trim()}`);
  }
  return { checked, split };
}"""


def assert_fits(page, where: str):
    box = page.evaluate(OVERFLOW)
    assert box["scroll"] <= box["client"] and not box["sticking"], (where, box)
    assert not box["squeezed"], (where, box["squeezed"])


def assert_no_split_cjk(page, where: str):
    tags = page.evaluate(SPLIT_CJK_TAGS)
    assert tags["checked"] > 3, (where, tags)  # the check found CJK tags to measure
    assert not tags["split"], (where, tags["split"])


# ----------------------------------------------------------------------------- widths
@pytest.mark.parametrize("width,lang", [(320, "ja"), (320, "zh-CN"), (768, "ja"), (1024, "zh-TW"), (1440, "zh-CN")])
def test_no_overflow_and_no_cjk_tag_split_mid_word(open_page, audio, width, lang):
    page, watch = open_page(width=width, height=900, ui_lang=lang)
    wait_for_models(page)
    assert_fits(page, "before")
    assert_no_split_cjk(page, "before")
    upload_and_transcribe(page, audio["speech_en"], timestamps=True)
    page.wait_for_selector("#ts-words .word")
    assert_fits(page, "with a result")
    assert_no_split_cjk(page, "with a result")
    page.click("#tab-mic")
    assert_fits(page, "microphone tab")
    watch.assert_clean(requests=False)


def test_header_fits_at_320_px_in_every_ui_language(open_page):
    page, watch = open_page(width=320, height=640)
    for lang in ui.UI_LANGS:
        page.click(f"[data-ui-lang='{lang}']")
        page.wait_for_function(f"document.documentElement.lang === '{lang}'")
        assert_fits(page, lang)
        header = page.eval_on_selector(".app-header", "h => h.getBoundingClientRect().height")
        assert header < 120, f"{lang}: the header takes {header}px of a 640px screen"
        buttons = page.eval_on_selector_all(".ui-lang-btn", "bs => bs.map(b => b.getBoundingClientRect().top)")
        assert max(buttons) - min(buttons) < 2, f"{lang}: the language switch wrapped {buttons}"
    watch.assert_clean()


@pytest.mark.parametrize("width", [768, 1024])
def test_tablets_get_two_columns_with_the_transcript_in_view(open_page, width):
    page, watch = open_page(width=width, height=1024)
    wait_for_models(page)
    boxes = page.evaluate("""() => Object.fromEntries(['.col-left', '#result-card'].map(s => {
        const r = document.querySelector(s).getBoundingClientRect(); return [s, {left: r.left, right: r.right, top: r.top}]; }))""")
    left, result = boxes[".col-left"], boxes["#result-card"]
    assert result["left"] >= left["right"], f"the transcript is not beside the input: {boxes}"
    assert result["top"] < 300, f"the transcript starts {result['top']}px down"
    watch.assert_clean()


# ----------------------------------------------------------------------------- contrast
CONTRAST = """async ({ shot }) => {
  const probe = document.createElement('span');
  document.body.append(probe);
  const resolved = (v) => { probe.style.color = v; return getComputedStyle(probe).color; };
  const css = getComputedStyle(document.documentElement);
  const dim = new Set(['--dim', '--muted'].map((v) => resolved(css.getPropertyValue(v).trim())));
  probe.remove();
  const img = await createImageBitmap(await (await fetch(`data:image/png;base64,${shot}`)).blob());
  const canvas = new OffscreenCanvas(img.width, img.height);
  const g = canvas.getContext('2d');
  g.drawImage(img, 0, 0);
  const px = g.getImageData(0, 0, img.width, img.height).data;
  const lin = (c) => { c /= 255; return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
  const lum = (r, gg, b) => 0.2126 * lin(r) + 0.7152 * lin(gg) + 0.0722 * lin(b);
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const style = getComputedStyle(el);
    if (!dim.has(style.color) || el.offsetParent === null) continue;
    if (el.closest(':disabled, [aria-disabled="true"], [hidden], .sprite')) continue;  // inactive: exempt in WCAG
    for (const node of el.childNodes) {
      if (node.nodeType !== 3 || !node.data.trim()) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      for (const r of range.getClientRects()) {
        const x0 = Math.max(0, Math.floor(r.left)), x1 = Math.min(img.width, Math.ceil(r.right));
        const y0 = Math.max(0, Math.floor(r.top)), y1 = Math.min(img.height, Math.ceil(r.bottom));
        if (x1 - x0 < 2 || y1 - y0 < 2) continue;
        const bg = [];
        for (let y = y0; y < y1; y += 1) for (let x = x0; x < x1; x += 1) {
          const i = (y * img.width + x) * 4;
          bg.push([px[i], px[i + 1], px[i + 2]]);
        }
        bg.sort((a, b) => lum(...a) - lum(...b));
        const worst = bg[Math.floor((bg.length - 1) * 0.98)];  // the lightest background behind the text
        const [tr, tg, tb, ta = 1] = style.color.match(/[\\d.]+/g).map(Number);
        const mix = (t, b) => t * ta + b * (1 - ta);
        const text = lum(mix(tr, worst[0]), mix(tg, worst[1]), mix(tb, worst[2]));
        const back = lum(...worst);
        const ratio = (Math.max(text, back) + 0.05) / (Math.min(text, back) + 0.05);
        out.push({ text: node.data.trim().slice(0, 30), cls: String(el.className), ratio: Math.round(ratio * 100) / 100 });
      }
    }
  }
  return out;
}"""
HIDE_TEXT = """*, *::before, *::after, ::placeholder { color: transparent !important; -webkit-text-fill-color: transparent !important;
  text-shadow: none !important; caret-color: transparent !important; }"""


def test_dim_text_meets_wcag_aa_on_its_rendered_background(open_page, audio):
    page, watch = open_page(width=1440, height=900)
    page.emulate_media(reduced_motion="reduce")
    wait_for_models(page)
    upload_and_transcribe(page, audio["speech_en"], timestamps=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.mouse.move(0, 0)
    page.wait_for_timeout(500)  # transitions off (reduced motion): the frame is still
    style = page.add_style_tag(content=HIDE_TEXT)
    shot = base64.b64encode(page.screenshot()).decode()
    style.evaluate("s => s.remove()")
    measured = page.evaluate(CONTRAST, {"shot": shot})
    assert len(measured) >= 10, measured  # labels, notes, counters, the chips' times
    low = [m for m in measured if m["ratio"] < 4.5]
    assert not low, low
    watch.assert_clean(requests=False)


# ----------------------------------------------------------------------------- word chips
def fake_result(timestamps: list[dict]) -> dict:
    return {"text": "hello, world", "language": "English", "model": "qwen3-asr-1.7b", "dtype": "float32",
            "timestamps": timestamps, "duration_seconds": 2.0, "process_time_seconds": 0.1, "rtf": 0.05,
            "load_time_seconds": 0.0}


# The clip's length as the timestamp clock shows it ("0:00.0 / 0:03.6" -> 3.6).
CLOCK_LENGTH_S = "Number(document.getElementById('ts-time').textContent.split('/')[1].trim().split(':')[1])"
# Sets window.__instantActive once the second word chip (the zero-length one) becomes active.
RECORD_INSTANT_ACTIVE = """() => { window.__instantActive = false;
  const chip = document.querySelectorAll('#ts-words .word')[1];
  new MutationObserver(() => { if (chip.classList.contains('is-active')) window.__instantActive = true; })
    .observe(chip, { attributes: true, attributeFilter: ['class'] }); }"""


def test_chips_show_start_end_and_a_zero_length_word_plays(open_page, audio):
    words = [{"text": "hello", "start": 0.2, "end": 0.6}, {"text": "、", "start": 0.8, "end": 0.8},
             {"text": "world", "start": 1.0, "end": 1.5}]
    page, watch = open_page(width=1440, height=900)
    # the canvas is hit in viewport coordinates read once: no smooth scroll (the result card's, on done) may
    # still be moving the page when they are read, or the point lands on whatever has scrolled under it
    page.emulate_media(reduced_motion="reduce")
    page.route("**/api/transcribe", lambda route: route.fulfill(
        status=200, content_type="application/json", body=json.dumps(fake_result(words))))
    upload_and_transcribe(page, audio["speech_en"], timestamps=True)
    chips = page.locator("#ts-words .word")
    assert chips.count() == 3
    assert [chips.nth(i).locator("small").text_content() for i in range(3)] == ["0.20–0.60", "0.80–0.80", "1.00–1.50"]
    instant = chips.nth(1)
    box = instant.bounding_box()
    assert box["width"] > 10 and box["height"] > 10, box  # visible, not collapsed to nothing
    # the chip is active only while its 0.25 s window plays: record the change instead of polling for it
    page.evaluate(RECORD_INSTANT_ACTIVE)
    instant.click()
    page.wait_for_function("window.__instantActive === true", timeout=15_000)
    page.wait_for_function("document.getElementById('ts-audio').paused", timeout=15_000)
    stopped = page.evaluate("document.getElementById('ts-audio').currentTime")
    # the window's length (1.05 s here) is playEnd's, unit-tested; here the player starts at the word and stops
    # on its own, well short of the clip's end (3.6 s): a timer late on a loaded machine overshoots by 0.1-0.3 s
    assert 0.8 < stopped < 2.0, f"a zero-length word plays a short window, stopped at {stopped}"
    # on the canvas: its segment (at 0.8 s of the timeline) is hit too. The timeline spans the clip once
    # the audio's metadata is in (the fake result says 2 s; the clip is longer); the clock shows that
    # length in tenths, a few px off on this canvas, so the pointer then looks for the segment the way a
    # user does: by hovering near where 0.8 s should be drawn until the tooltip names it.
    page.wait_for_function(f"""() => {{ const a = document.getElementById('ts-audio');
      return a.readyState >= 1 && Math.abs({CLOCK_LENGTH_S} - a.duration) < 0.15; }}""", timeout=15_000)
    canvas = page.locator("#ts-canvas")
    canvas.evaluate("c => c.scrollIntoView({ block: 'center', behavior: 'instant' })")  # clear of the sticky header
    area = canvas.bounding_box()
    duration = page.evaluate(CLOCK_LENGTH_S)
    estimate, middle = area["x"] + area["width"] * 0.8 / duration, area["y"] + area["height"] / 2
    assert page.evaluate(f"document.elementFromPoint({estimate}, {middle}).id") == "ts-canvas", "the canvas is covered"
    titles = []
    hit_x = None
    for dx in sorted(range(-12, 13), key=abs):
        page.mouse.move(estimate + dx, middle)
        titles.append(page.evaluate("document.getElementById('ts-canvas').title"))
        if titles[-1].startswith("、"):
            hit_x = estimate + dx
            break
    assert hit_x is not None, ("no point within 12 px of 0.8 s names the zero-length word", duration, area,
                               page.evaluate("document.getElementById('ts-audio').duration"), sorted(set(titles)))
    page.evaluate(RECORD_INSTANT_ACTIVE)
    assert "is-active" not in instant.get_attribute("class")
    page.mouse.click(hit_x, middle)
    page.wait_for_function("window.__instantActive === true", timeout=15_000)
    watch.assert_clean(requests=False)


# ----------------------------------------------------------------------------- language of the first paint
FIRST_FRAMES = """(() => { window.__frames = [];
  const look = () => {
    const label = document.getElementById('go-label');
    if (document.body && label && getComputedStyle(document.body).visibility !== 'hidden') window.__frames.push(label.textContent.trim());
    if (document.documentElement.dataset.ready !== 'true') requestAnimationFrame(look);
  };
  requestAnimationFrame(look); })();"""


def test_first_paint_is_in_the_chosen_language(browser, stack):
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    try:
        ctx.add_init_script("localStorage.setItem('qwen-asr.ui-lang', 'ja')")
        ctx.add_init_script(FIRST_FRAMES)

        def slow_catalogue(route):
            # a slow network: the Japanese catalogue arrives well after the page could first paint
            answer = route.fetch()
            page.wait_for_timeout(1500)
            route.fulfill(response=answer)

        page = ctx.new_page()
        page.route("**/ui/i18n/ja.json", slow_catalogue)
        page.goto(f"{stack.base_url}/")
        page.wait_for_selector("html[data-ready='true']", timeout=60_000)
        frames = page.evaluate("window.__frames")
        want = catalog("ja")["action.transcribe"]
        assert frames, "no frame was seen"
        assert set(frames) == {want}, f"frames painted before the translation: {sorted(set(frames))}"
    finally:
        ctx.close()


# ----------------------------------------------------------------------------- server words
def test_nvml_reason_is_shown_in_the_ui_language(open_page, stack):
    gpu = httpx.get(stack.url("/health"), timeout=30).json()["gpu"]
    if gpu.get("available"):
        pytest.skip("this host has a GPU: there is no reason to translate")
    page, watch = open_page(ui_lang="ja")
    page.wait_for_selector("#gpu-list .no-gpu-reason")
    shown = page.text_content("#gpu-list .no-gpu-reason")
    ja = catalog("ja")
    sentences = [v for k, v in ja.items() if k.startswith("gpu.reason") and k != "gpu.reasonOther"]
    assert shown.startswith(ja["gpu.noneSub"]) and any(s in shown for s in sentences), shown
    raw = gpu["reason"].split(":", 1)[-1].strip()  # NVML's own English words
    assert raw not in shown and not re.search(r"Not Found|Not Loaded|reports no GPU", shown), shown
    assert page.get_attribute("#gpu-list .no-gpu-reason", "title") == gpu["reason"]
    watch.assert_clean()


def test_precision_choices_are_what_the_server_runs(open_page, stack, audio):
    config = httpx.get(stack.url("/api/status"), timeout=30).json()["config"]
    page, watch = open_page()
    page.wait_for_function(f"document.querySelector('#opt-dtype option[value=\"\"]').textContent.includes('{config['default_dtype']}')")
    values = page.eval_on_selector_all("#opt-dtype option", "os => os.map(o => o.value)")
    assert values == ["", *config["dtypes"]]
    if config["device"] in ("auto", "cpu") and not httpx.get(stack.url("/health"), timeout=30).json()["gpu"]["available"]:
        assert config["default_dtype"] == "float32" and "float32" in values  # the CPU's dtype is shown
    assert page.text_content("#opt-dtype option[value='']") == catalog("en")["settings.dtypeDefaultIs"].replace(
        "{dtype}", config["default_dtype"])
    page.select_option("#opt-dtype", "float32")
    upload_and_transcribe(page, audio["speech_en"], timestamps=False)
    assert page.text_content("#badge-model").endswith("· float32")
    page.select_option("#opt-dtype", "")  # back to the default for the other tests of this session
    watch.assert_clean(requests=False)


# ----------------------------------------------------------------------------- load wording
@pytest.mark.releases_models
def test_load_wait_and_gpu_load_time_say_the_same(open_page, stack, audio):
    released = httpx.post(stack.url("/api/gpu-offload"), json={"models": ["qwen3-asr-0.6b"]}, timeout=120)
    assert released.status_code in (200, 202), released.text
    page, watch = open_page()
    wait_for_models(page)
    page.click("label.seg-opt:has(input[value='qwen3-asr-0.6b'])")
    upload_and_transcribe(page, audio["speech_en"], timestamps=False)  # a cold start: it waits for the load
    page.wait_for_function("document.querySelector(\"#model-list .model[data-model='qwen3-asr-0.6b'][data-state='loaded']\")",
                           timeout=60_000)
    page.wait_for_function("document.getElementById('perf-load-note').textContent.length > 0", timeout=30_000)
    en = catalog("en")
    wait = page.text_content("#perf-load")
    note = page.text_content("#perf-load-note")
    row = page.text_content("#model-list .model[data-model='qwen3-asr-0.6b'] .model-loaded-in")
    assert wait != "0.00 s", "the request should have waited for the released model"
    loaded_in = en["gpu.loadedIn"].replace("{time}", "")
    assert row.startswith(loaded_in), row
    # the same event, the same words, the same number: "Qwen3-ASR 0.6B loaded in 0.04 s" / "loaded in 0.04 s"
    assert note.endswith(row), (note, row)
    assert en["perf.load"].split()[1].lower() in loaded_in.lower()  # "load" in both labels
    watch.assert_clean(requests=False)
