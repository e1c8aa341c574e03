"""serve_app/languages.py edge cases: lookups never collide, aliases, dialect entries, catalogue copies."""

from __future__ import annotations

import pytest

from deployments.protocol import ALIGNER_LANGUAGES
from serve_app.languages import (
    ALIASES,
    AUTO_ENTRY,
    LANGUAGES,
    UnknownLanguage,
    catalogue,
    resolve_language,
)


@pytest.mark.parametrize("language", LANGUAGES, ids=lambda lang: lang.code)
def test_every_code_name_and_native_name_finds_its_own_entry(language):
    """A name that equals another entry's code (or native name) would silently pick the wrong one."""
    assert resolve_language(language.code) is language
    assert resolve_language(language.name) is language
    assert resolve_language(language.native_name) is language
    assert resolve_language(language.code.upper()) is language


def test_names_and_native_names_are_unique():
    names = [lang.name.lower() for lang in LANGUAGES]
    natives = [lang.native_name.lower() for lang in LANGUAGES]
    assert len(set(names)) == len(names)
    assert len(set(natives)) == len(natives)


@pytest.mark.parametrize("alias", sorted(ALIASES))
def test_every_alias_points_at_an_existing_code(alias):
    target = resolve_language(alias)
    assert target is not None and target.code == ALIASES[alias]


@pytest.mark.parametrize("value,code", [
    ("zh-TW", "zh"), ("ZH_HK", "yue"), ("Mandarin", "zh"), ("cmn", "zh"), ("TL", "fil"),
    ("zh_sichuan", "zh-sichuan"), ("YUE-HK", "yue-hk"), ("\tde\n", "de"), ("english ", "en"), ("Bahasa Indonesia", "id"),
])
def test_spellings_clients_send(value, code):
    assert resolve_language(value).code == code


@pytest.mark.parametrize("value", ["  ", "\t", "Auto", " auto "])
def test_blank_and_auto_spellings_detect(value):
    assert resolve_language(value) is None


@pytest.mark.parametrize("value", ["zh-", "-zh", "en_us", "zh-sichuan-x", "日本", "eng"])
def test_near_misses_are_unknown_not_guessed(value):
    with pytest.raises(UnknownLanguage) as caught:
        resolve_language(value)
    assert repr(value) in str(caught.value)


def test_unknown_language_is_a_value_error():
    assert issubclass(UnknownLanguage, ValueError)


def test_dialect_entries_have_a_note_others_do_not():
    for entry in catalogue()[1:]:
        if entry["group"] == "dialect":
            assert entry["note"].startswith("Dialect:") and entry["model_language"] in entry["note"]
        else:
            assert "note" not in entry


def test_aligner_flag_follows_the_model_language():
    by_code = {entry["code"]: entry for entry in catalogue()}
    assert by_code["zh-sichuan"]["aligner"] is ("Chinese" in ALIGNER_LANGUAGES)
    assert by_code["yue-hk"]["aligner"] is ("Cantonese" in ALIGNER_LANGUAGES)
    assert by_code["th"]["aligner"] is False
    assert by_code["auto"]["aligner"] is True


def test_catalogue_entries_have_one_shape():
    keys = {"code", "name", "native_name", "group", "model_language", "aligner"}
    for entry in catalogue():
        assert keys <= set(entry) <= keys | {"note"}, entry


def test_catalogue_hands_out_copies():
    first = catalogue()
    first[0]["code"] = "changed"
    first[1]["name"] = "changed"
    second = catalogue()
    assert second[0]["code"] == "auto" and AUTO_ENTRY["code"] == "auto"
    assert second[1]["name"] == LANGUAGES[0].name


def test_languages_are_immutable():
    with pytest.raises(AttributeError):
        LANGUAGES[0].code = "xx"


def test_effective_language_forced_beats_detected_and_detections_merge():
    from serve_app.languages import effective_language

    assert effective_language(resolve_language("ja"), ["English", "English"]) == "Japanese"
    assert effective_language(None, ["Chinese", "English"]) == "Chinese,English"
    assert effective_language(None, ["English", "English"]) == "English"
    assert effective_language(None, []) == ""


def test_the_aligner_times_the_first_language_of_a_merged_detection():
    from serve_app.languages import can_align, primary_language

    assert primary_language("Chinese,English") == "Chinese" and can_align("Chinese,English")
    assert primary_language("") == "" and not can_align("")
    assert not can_align("Hindi,English")  # Hindi first: the ForcedAligner does not time it
