"""The language catalogue and how requests name languages."""

import pytest
from qwen_asr.inference.utils import SUPPORTED_LANGUAGES

from serve_app.languages import LANGUAGES, UnknownLanguage, catalogue, resolve_language


def test_fifty_two_entries_thirty_languages_twenty_two_dialects():
    assert len(LANGUAGES) == 52
    assert sum(1 for lang in LANGUAGES if lang.group == "dialect") == 22
    base = {lang.name for lang in LANGUAGES if lang.group != "dialect"}
    assert base == set(SUPPORTED_LANGUAGES)


def test_codes_are_unique_and_groups_known():
    codes = [lang.code for lang in LANGUAGES]
    assert len(set(codes)) == len(codes)
    assert {lang.group for lang in LANGUAGES} == {"common", "dialect", "other"}


def test_every_model_language_is_one_the_model_accepts():
    assert all(lang.model_language in SUPPORTED_LANGUAGES for lang in LANGUAGES)


def test_dialects_map_to_chinese_or_cantonese_and_say_so():
    dialects = [entry for entry in catalogue() if entry["group"] == "dialect"]
    assert {d["model_language"] for d in dialects} == {"Chinese", "Cantonese"}
    assert all("told" in d["note"] for d in dialects)


def test_catalogue_starts_with_auto():
    entries = catalogue()
    assert entries[0]["code"] == "auto" and entries[0]["model_language"] is None
    assert len(entries) == 53


@pytest.mark.parametrize("value,expected", [
    ("en", "English"), ("EN", "English"), ("english", "English"), ("Japanese", "Japanese"),
    ("zh", "Chinese"), ("yue", "Cantonese"), ("zh-sichuan", "Chinese"), ("tl", "Filipino"),
    ("zh_CN", "Chinese"), ("中文", "Chinese"), (" ja ", "Japanese"),
])
def test_resolve_codes_names_and_aliases(value, expected):
    assert resolve_language(value).model_language == expected


@pytest.mark.parametrize("value", [None, "", "auto", "AUTO"])
def test_auto_means_detect(value):
    assert resolve_language(value) is None


@pytest.mark.parametrize("value", ["xx", "klingon", "en-US-x", "12"])
def test_unknown_language_names_where_to_look(value):
    with pytest.raises(UnknownLanguage, match="/api/languages"):
        resolve_language(value)


def test_aligner_flags_follow_the_eleven_languages():
    timed = {lang.model_language for lang in LANGUAGES if lang.aligner}
    assert len(timed) == 11
    assert "Thai" not in timed and "Japanese" in timed
