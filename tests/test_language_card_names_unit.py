"""Dialects resolve by the names the Qwen3-ASR model card uses (`Sichuan`, `Dongbei`, `Wu language`),
as well as by their codes: the API used to answer `language=Sichuan` with a 400."""

from __future__ import annotations

import pytest

from serve_app.languages import LANGUAGES, card_names, resolve_language

CARD_DIALECTS = [
    "Anhui", "Dongbei", "Fujian", "Gansu", "Guizhou", "Hebei", "Henan", "Hubei", "Hunan", "Jiangxi", "Ningxia",
    "Shandong", "Shaanxi", "Shanxi", "Sichuan", "Tianjin", "Yunnan", "Zhejiang", "Wu language", "Minnan language",
]


@pytest.mark.parametrize("name", CARD_DIALECTS)
def test_every_model_card_dialect_name_resolves_to_a_dialect(name):
    language = resolve_language(name)
    assert language is not None and language.group == "dialect"
    assert resolve_language(name.lower()) is language and resolve_language(name.upper()) is language


@pytest.mark.parametrize(("name", "code"), [("Sichuan", "zh-sichuan"), ("Dongbei", "zh-dongbei"), ("Wu", "wuu"),
                                            ("Wu language", "wuu"), ("Minnan", "nan"), ("Minnan language", "nan")])
def test_a_card_name_resolves_like_its_code(name, code):
    assert resolve_language(name) is resolve_language(code)


def test_card_names_never_shadow_another_language():
    for language in LANGUAGES:
        for name in card_names(language):
            others = [o for o in LANGUAGES if o is not language and name.lower() in (o.code, o.name.lower())]
            assert not others, (name, others)


def test_only_dialects_get_card_names():
    assert all(not card_names(language) for language in LANGUAGES if language.group != "dialect")
