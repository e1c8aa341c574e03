"""The UI's four translation files agree: same keys, no empty values, same placeholders, and every
key the page or its scripts use exists. Pure file checks, no browser, no server."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

UI = Path(__file__).resolve().parents[1] / "ui"
LANGS = ["en", "zh-CN", "zh-TW", "ja"]
PLACEHOLDER = re.compile(r"\{(\w+)\}")
# Keys built at run time from a fixed set of suffixes (t(`mic.err.${kind}`), t(`state.${state}`)).
DYNAMIC = {
    "mic.err.": ["insecure", "unsupported", "denied", "missing", "busy", "unknown", "tooShort"],
    "state.": ["not_loaded", "loading", "loaded", "releasing"],
}


def load(lang: str) -> dict[str, str]:
    with open(UI / "i18n" / f"{lang}.json", encoding="utf-8") as fh:
        return json.load(fh)


@pytest.fixture(scope="module")
def catalogs() -> dict[str, dict[str, str]]:
    return {lang: load(lang) for lang in LANGS}


def test_all_four_files_exist_and_are_flat_string_maps(catalogs):
    for lang, data in catalogs.items():
        assert isinstance(data, dict) and data, lang
        for key, value in data.items():
            assert isinstance(key, str) and key, lang
            assert isinstance(value, str), f"{lang}:{key} is not a string"


@pytest.mark.parametrize("lang", LANGS[1:])
def test_same_keys_as_english(catalogs, lang):
    en = set(catalogs["en"])
    other = set(catalogs[lang])
    assert not en - other, f"{lang} lacks {sorted(en - other)}"
    assert not other - en, f"{lang} has extra {sorted(other - en)}"


@pytest.mark.parametrize("lang", LANGS)
def test_no_empty_values(catalogs, lang):
    empty = [k for k, v in catalogs[lang].items() if not v.strip()]
    assert not empty, f"{lang} has empty values: {empty}"


@pytest.mark.parametrize("lang", LANGS[1:])
def test_placeholders_match_english(catalogs, lang):
    for key, value in catalogs["en"].items():
        want = sorted(PLACEHOLDER.findall(value))
        got = sorted(PLACEHOLDER.findall(catalogs[lang][key]))
        assert got == want, f"{lang}:{key} placeholders {got} != {want}"


@pytest.mark.parametrize("lang", LANGS[1:])
def test_translations_are_translated(catalogs, lang):
    """A translation that equals the English text is a forgotten string, unless it has no words
    (codes, symbols, numbers, product names)."""
    same = [
        k for k, v in catalogs["en"].items()
        if catalogs[lang][k] == v and re.search(r"[A-Za-z]{3,}", PLACEHOLDER.sub("", v))
        and k not in {"input.dropHint"}
    ]
    assert not same, f"{lang} leaves English text in {same}"


def used_keys() -> set[str]:
    keys: set[str] = set()
    html = (UI / "index.html").read_text(encoding="utf-8")
    keys |= set(re.findall(r'data-i18n="([^"]+)"', html))
    for attr in re.findall(r'data-i18n-attr="([^"]+)"', html):
        for pair in attr.split(";"):
            keys.add(pair.split(":", 1)[1].strip())
    for js in (UI / "js").glob("*.js"):
        src = js.read_text(encoding="utf-8")
        keys |= set(re.findall(r"\bt\(\s*'([a-zA-Z0-9_.]+)'", src))
        keys |= set(re.findall(r"(?:Key|key|hintKey|labelKey)\s*[:=]\s*'([a-zA-Z0-9_]+\.[a-zA-Z0-9_.]+)'", src))
        keys |= set(re.findall(r"setBusyLabel\('([^']+)'\)", src))
        keys |= set(re.findall(r"showPending\('([^']+)'", src))
        keys |= set(re.findall(r"setPendingLabel\('([^']+)'\)", src))
        keys |= set(re.findall(r"_setMicState\('[a-z]+', '([^']+)'", src))
        keys |= set(re.findall(r"setServiceStatus\('[a-z]+', '([^']+)'", src))
    for prefix, suffixes in DYNAMIC.items():
        keys |= {prefix + s for s in suffixes}
    return keys


def test_every_key_the_ui_uses_exists(catalogs):
    missing = sorted(k for k in used_keys() if k not in catalogs["en"])
    assert not missing, f"used but not defined: {missing}"


def test_the_ui_uses_its_keys(catalogs):
    """Guards against the extractor silently finding nothing."""
    used = used_keys()
    assert len(used) > 100
    for key in ("action.transcribe", "settings.title", "gpu.releaseAll", "state.not_loaded", "mic.err.denied"):
        assert key in used


def test_language_switch_offers_the_four_languages():
    html = (UI / "index.html").read_text(encoding="utf-8")
    offered = re.findall(r'data-ui-lang="([^"]+)"', html)
    assert offered == LANGS
    for label in ("EN", "简体中文", "繁體中文", "日本語"):
        assert f">{label}</button>" in html


def test_no_request_to_outside_hosts():
    """No CDN fonts, icons or scripts: every reference is local (or a data: URI)."""
    pattern = re.compile(r"""(?:src|href)\s*=\s*["'](?!/|#|data:|mailto:)([^"']+)["']|url\(\s*["']?(https?:)?//""")
    for path in [UI / "index.html", *(UI / "css").glob("*.css"), *(UI / "js").glob("*.js")]:
        text = path.read_text(encoding="utf-8")
        assert "http://" not in re.sub(r"xmlns(:\w+)?=\"http://www\.w3\.org/[^\"]+\"|'http://www\.w3\.org/2000/svg'", "", text), path
        assert "https://" not in text, path
        assert not pattern.search(text), f"{path}: {pattern.search(text).group(0)}"
