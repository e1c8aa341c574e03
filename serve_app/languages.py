"""The 52 languages and dialects of Qwen3-ASR, and how a request's choice is resolved.

The model can be forced to 30 language names (qwen-asr's SUPPORTED_LANGUAGES). The 22
Chinese dialects exist only on the model card: choosing one tells the model its base
language (Chinese, or Cantonese for the Cantonese accents) and auto-detection reports them
under those names too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

from deployments.protocol import ALIGNER_LANGUAGES
from serve_app.errors import echo
from serve_app.qwen_utils import merge_languages

AUTO = "auto"


@dataclass(frozen=True)
class Language:
    code: str
    name: str
    native_name: str
    group: str  # common | dialect | other
    model_language: str

    @property
    def aligner(self) -> bool:
        return self.model_language in ALIGNER_LANGUAGES

    def to_dict(self) -> dict:
        entry = {**asdict(self), "aligner": self.aligner}
        if self.group == "dialect":
            entry["note"] = f"Dialect: the model is told {self.model_language}; it takes no dialect names."
        return entry


def _lang(code: str, name: str, native: str, group: str, model_language: str | None = None) -> Language:
    return Language(code, name, native, group, model_language or name)


LANGUAGES: tuple[Language, ...] = (
    _lang("zh", "Chinese", "中文", "common"),
    _lang("en", "English", "English", "common"),
    _lang("yue", "Cantonese", "粵語", "common"),
    _lang("ja", "Japanese", "日本語", "common"),
    _lang("ko", "Korean", "한국어", "common"),
    _lang("fr", "French", "Français", "common"),
    _lang("de", "German", "Deutsch", "common"),
    _lang("es", "Spanish", "Español", "common"),
    _lang("ru", "Russian", "Русский", "common"),
    _lang("pt", "Portuguese", "Português", "common"),
    _lang("it", "Italian", "Italiano", "common"),
    _lang("ar", "Arabic", "العربية", "common"),
    _lang("id", "Indonesian", "Bahasa Indonesia", "other"),
    _lang("th", "Thai", "ไทย", "other"),
    _lang("vi", "Vietnamese", "Tiếng Việt", "other"),
    _lang("tr", "Turkish", "Türkçe", "other"),
    _lang("hi", "Hindi", "हिन्दी", "other"),
    _lang("ms", "Malay", "Bahasa Melayu", "other"),
    _lang("nl", "Dutch", "Nederlands", "other"),
    _lang("sv", "Swedish", "Svenska", "other"),
    _lang("da", "Danish", "Dansk", "other"),
    _lang("fi", "Finnish", "Suomi", "other"),
    _lang("pl", "Polish", "Polski", "other"),
    _lang("cs", "Czech", "Čeština", "other"),
    _lang("fil", "Filipino", "Filipino", "other"),
    _lang("fa", "Persian", "فارسی", "other"),
    _lang("el", "Greek", "Ελληνικά", "other"),
    _lang("ro", "Romanian", "Română", "other"),
    _lang("hu", "Hungarian", "Magyar", "other"),
    _lang("mk", "Macedonian", "Македонски", "other"),
    _lang("zh-anhui", "Anhui dialect", "安徽话", "dialect", "Chinese"),
    _lang("zh-dongbei", "Dongbei dialect", "东北话", "dialect", "Chinese"),
    _lang("zh-fujian", "Fujian dialect", "福建话", "dialect", "Chinese"),
    _lang("zh-gansu", "Gansu dialect", "甘肃话", "dialect", "Chinese"),
    _lang("zh-guizhou", "Guizhou dialect", "贵州话", "dialect", "Chinese"),
    _lang("zh-hebei", "Hebei dialect", "河北话", "dialect", "Chinese"),
    _lang("zh-henan", "Henan dialect", "河南话", "dialect", "Chinese"),
    _lang("zh-hubei", "Hubei dialect", "湖北话", "dialect", "Chinese"),
    _lang("zh-hunan", "Hunan dialect", "湖南话", "dialect", "Chinese"),
    _lang("zh-jiangxi", "Jiangxi dialect", "江西话", "dialect", "Chinese"),
    _lang("zh-ningxia", "Ningxia dialect", "宁夏话", "dialect", "Chinese"),
    _lang("zh-shandong", "Shandong dialect", "山东话", "dialect", "Chinese"),
    _lang("zh-shaanxi", "Shaanxi dialect", "陕西话", "dialect", "Chinese"),
    _lang("zh-shanxi", "Shanxi dialect", "山西话", "dialect", "Chinese"),
    _lang("zh-sichuan", "Sichuan dialect", "四川话", "dialect", "Chinese"),
    _lang("zh-tianjin", "Tianjin dialect", "天津话", "dialect", "Chinese"),
    _lang("zh-yunnan", "Yunnan dialect", "云南话", "dialect", "Chinese"),
    _lang("zh-zhejiang", "Zhejiang dialect", "浙江话", "dialect", "Chinese"),
    _lang("yue-hk", "Cantonese (Hong Kong accent)", "粵語（香港口音）", "dialect", "Cantonese"),
    _lang("yue-gd", "Cantonese (Guangdong accent)", "粤语（广东口音）", "dialect", "Cantonese"),
    _lang("wuu", "Wu", "吴语", "dialect", "Chinese"),
    _lang("nan", "Minnan", "闽南语", "dialect", "Chinese"),
)

# Other spellings clients send (OpenAI clients send ISO-639-1; Filipino is "tl" there).
ALIASES = {"tl": "fil", "cmn": "zh", "zh-cn": "zh", "zh-tw": "zh", "mandarin": "zh", "zh-hk": "yue"}

AUTO_ENTRY = {
    "code": AUTO, "name": "Auto-detect", "native_name": "Auto", "group": "auto",
    "aligner": True, "model_language": None,
}



def card_names(language: Language) -> tuple[str, ...]:
    """The names the model card uses for a dialect: `Sichuan` for "Sichuan dialect", `Wu language`
    for "Wu" (the card lists "Wu language" and "Minnan language")."""
    if language.group != "dialect":
        return ()
    if language.name.endswith(" dialect"):
        return (language.name.removesuffix(" dialect"),)
    if " " not in language.name:
        return (f"{language.name} language",)
    return ()


_BY_KEY: dict[str, Language] = {}
for _language in LANGUAGES:
    _BY_KEY[_language.code.lower()] = _language
    _BY_KEY.setdefault(_language.name.lower(), _language)
    _BY_KEY.setdefault(_language.native_name.lower(), _language)
    for _name in card_names(_language):
        _BY_KEY.setdefault(_name.lower(), _language)


class UnknownLanguage(ValueError):
    pass


def resolve_language(value: str | None) -> Language | None:
    """A code, alias or name (any case) -> its entry; None/'' /'auto' -> None (detect)."""
    key = (value or "").strip().lower().replace("_", "-")
    if key in ("", AUTO):
        return None
    key = ALIASES.get(key, key)
    if key in _BY_KEY:
        return _BY_KEY[key]
    raise UnknownLanguage(
        f"Unknown language {echo(value)}. Use 'auto', a code such as 'en', 'zh', 'ja', 'yue', or an "
        "English name such as 'Japanese' or 'Sichuan'; GET /api/languages lists all 52."
    )


def effective_language(forced: Language | None, detected: Iterable[str]) -> str:
    """The language a result reports: the forced one, else the pieces' detections merged the way
    qwen-asr merges them (`Chinese,English` when a recording switches)."""
    if forced is not None:
        return forced.model_language
    detected = list(detected)
    return merge_languages(detected) if detected else ""


def primary_language(language: str) -> str:
    """The first language of a merged detection: the one the ForcedAligner is asked to time."""
    return (language or "").split(",")[0].strip()


def can_align(language: str) -> bool:
    return primary_language(language) in ALIGNER_LANGUAGES


def catalogue() -> list[dict]:
    return [dict(AUTO_ENTRY)] + [language.to_dict() for language in LANGUAGES]

