"""Beyond the brief, in Chromium: recent transcripts kept in the browser (IndexedDB) survive a reload
and reopen with their audio, text, timestamps and settings; Clear all forgets them. The transcript
text follows playback (its words light up and seek); keyboard shortcuts drive the audio (Space,
arrows) and `?` lists them.
"""

from __future__ import annotations

from tests import test_ui_browser as ui

# the browser fixtures of the main UI test module, shared (one Chromium per module)
browser = ui.browser
open_page = ui.open_page
catalog = ui.catalog
wait_for_models = ui.wait_for_models
upload_and_transcribe = ui.upload_and_transcribe

AUDIO = "document.getElementById('ts-audio')"


def test_history_survives_a_reload_and_reopens_audio_text_timestamps_and_settings(open_page, audio):
    page, watch = open_page()
    wait_for_models(page)
    assert page.is_visible("#history-empty") and page.is_disabled("#history-clear")
    page.click("label.seg-opt:has(input[value='qwen3-asr-0.6b'])")
    upload_and_transcribe(page, audio["speech_en"], timestamps=True)
    page.wait_for_selector("#history-list .history-item")
    words = page.locator("#ts-words .word").count()
    text = page.text_content("#transcript").strip()  # the 0.6B demo model's own phrase
    assert words > 0 and text
    watch.reload(page)
    items = page.locator("#history-list .history-item")
    assert items.count() == 1, "the entry is still there after a reload"
    assert items.first.locator(".history-name").text_content() == audio["speech_en"].name
    assert items.first.locator(".history-text").text_content() == text
    assert page.get_attribute("#result-card", "data-state") == "empty"
    # other settings now: reopening must bring the entry's back
    page.click("label.seg-opt:has(input[value='qwen3-asr-1.7b'])")
    page.click("#opt-timestamps")
    assert not page.is_checked("#opt-timestamps")
    items.first.click()
    page.wait_for_selector("#result-card[data-state='done']", timeout=30_000)
    assert page.text_content("#transcript").strip() == text
    assert page.locator("#ts-words .word").count() == words, "the timestamps came back"
    assert page.is_checked("input[name='model'][value='qwen3-asr-0.6b']") and page.is_checked("#opt-timestamps")
    assert page.evaluate(f"{AUDIO}.src").startswith("blob:")
    page.wait_for_function(f"{AUDIO}.duration > 0", timeout=15_000)  # the stored audio plays
    page.locator("#ts-words .word").first.click()
    page.wait_for_function(f"{AUDIO}.currentTime > 0", timeout=15_000)
    # Clear all: gone now and after a reload
    page.click("#history-clear")
    page.wait_for_function("document.querySelectorAll('#history-list .history-item').length === 0")
    assert page.is_visible("#history-empty")
    watch.reload(page)
    assert page.locator("#history-list .history-item").count() == 0
    watch.assert_clean(requests=False)


def test_transcript_follows_playback_and_shortcuts_drive_it(open_page, audio):
    page, watch = open_page()
    wait_for_models(page)
    upload_and_transcribe(page, audio["speech_en"], timestamps=True)
    # the transcript's own words light up and seek
    timed = page.locator("#t-stable .tw")
    assert timed.count() == page.locator("#ts-words .word").count() > 0
    assert page.text_content("#transcript").strip() == ui.SCRIPTED_TEXT  # the text itself is unchanged
    page.wait_for_function(f"{AUDIO}.duration > 0", timeout=15_000)
    page.evaluate(f"{AUDIO}.currentTime = {AUDIO}.duration - 0.01")
    timed.first.click()  # seeks to the first word (lit at once) and plays on
    assert "is-active" in timed.first.get_attribute("class")
    page.wait_for_function(f"!{AUDIO}.paused && {AUDIO}.currentTime < 1", timeout=15_000)
    page.evaluate(f"{AUDIO}.pause()")
    page.focus("body")
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("Space")
    page.wait_for_function(f"!{AUDIO}.paused && {AUDIO}.currentTime > 0", timeout=15_000)
    page.keyboard.press("Space")
    page.wait_for_function(f"{AUDIO}.paused", timeout=5_000)
    page.evaluate(f"{AUDIO}.currentTime = 0")
    duration = page.evaluate(f"{AUDIO}.duration")
    page.keyboard.press("ArrowRight")
    assert abs(page.evaluate(f"{AUDIO}.currentTime") - min(2, duration)) < 0.05
    page.keyboard.press("ArrowLeft")
    assert page.evaluate(f"{AUDIO}.currentTime") < 0.05
    # a key typed into a field stays there
    page.fill("#opt-context", "")
    page.focus("#opt-context")
    page.keyboard.press("Space")
    assert page.evaluate(f"{AUDIO}.paused") and page.input_value("#opt-context") == " "
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("?")
    assert page.is_visible("#keys-dialog")
    assert page.text_content("#keys-title") == catalog("en")["keys.title"]
    page.keyboard.press("Escape")
    assert not page.is_visible("#keys-dialog")
    page.fill("#opt-context", "")
    watch.assert_clean(requests=False)
