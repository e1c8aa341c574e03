"""serve_app/settings.py: QWEN_ASR_* environment and `.env` parsing, validation, and the helpers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import get_args

import pytest
from pydantic import ValidationError

from deployments.protocol import ASR_0_6B, ASR_1_7B, ASR_MODELS
from serve_app.settings import ENV_PREFIX, Settings, get_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """No QWEN_ASR_* from the outside and no `.env` of the checkout: each test sets its own."""
    for key in list(os.environ):
        if key.startswith(ENV_PREFIX):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def invalid_fields(**values) -> set[str]:
    with pytest.raises(ValidationError) as caught:
        Settings(**values)
    return {".".join(str(p) for p in error["loc"]) for error in caught.value.errors()}


# --- the environment ---------------------------------------------------------------------------


def test_defaults_without_environment():
    s = Settings()
    assert s.idle_timeout_s == 600.0 and s.release_other_on_switch is True
    assert s.default_model == ASR_1_7B and s.api_key_value == "" and s.cors_origins == ["*"]
    assert s.http_port == 8200 and s.mcp_port == 8201


def test_every_field_reads_its_prefixed_variable(monkeypatch):
    monkeypatch.setenv("QWEN_ASR_IDLE_TIMEOUT_S", "5.5")
    monkeypatch.setenv("QWEN_ASR_HTTP_PORT", "9300")
    monkeypatch.setenv("QWEN_ASR_API_KEY", "s3cret")
    monkeypatch.setenv("QWEN_ASR_DEVICE", "cpu")
    s = Settings()
    assert (s.idle_timeout_s, s.http_port, s.api_key_value, s.device) == (5.5, 9300, "s3cret", "cpu")


def test_variable_names_are_case_insensitive(monkeypatch):
    monkeypatch.setenv("qwen_asr_max_upload_mb", "3")
    assert Settings().max_upload_mb == 3.0


def test_unprefixed_variables_are_not_read(monkeypatch):
    monkeypatch.setenv("API_KEY", "leaked")
    monkeypatch.setenv("IDLE_TIMEOUT_S", "1")
    s = Settings()
    assert s.api_key_value == "" and s.idle_timeout_s == 600.0


@pytest.mark.parametrize("text,value", [("true", True), ("1", True), ("yes", True), ("on", True),
                                        ("false", False), ("0", False), ("no", False), ("off", False)])
def test_boolean_spellings(monkeypatch, text, value):
    monkeypatch.setenv("QWEN_ASR_RELEASE_OTHER_ON_SWITCH", text)
    assert Settings().release_other_on_switch is value


def test_unknown_prefixed_variables_are_ignored(monkeypatch):
    monkeypatch.setenv("QWEN_ASR_NOT_A_SETTING", "x")  # docker-compose's own variables share the prefix
    assert not hasattr(Settings(), "not_a_setting")


def test_dotenv_file_is_read_and_the_environment_wins(monkeypatch, tmp_path):
    (tmp_path / ".env").write_text("QWEN_ASR_IDLE_TIMEOUT_S=42\nQWEN_ASR_API_KEY=from-file\n# comment\n",
                                   encoding="utf-8")
    monkeypatch.setenv("QWEN_ASR_API_KEY", "from-env")
    s = Settings()
    assert s.idle_timeout_s == 42.0
    assert s.api_key_value == "from-env"


def test_init_arguments_win_over_the_environment(monkeypatch):
    """serve_config.yaml `args` reach Settings(**args) and override the environment."""
    monkeypatch.setenv("QWEN_ASR_IDLE_TIMEOUT_S", "42")
    assert Settings(idle_timeout_s=7).idle_timeout_s == 7.0


def test_get_settings_is_read_once(monkeypatch):
    first = get_settings()
    monkeypatch.setenv("QWEN_ASR_API_KEY", "later")
    assert get_settings() is first and first.api_key_value == ""
    get_settings.cache_clear()
    assert get_settings().api_key_value == "later"


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize("field,value", [
    ("device", "tpu"), ("dtype", "int8"), ("attn_implementation", "flash_attention_3"),
])
def test_choices_are_enforced(field, value):
    assert invalid_fields(**{field: value}) == {field}


@pytest.mark.parametrize("field,value", [
    ("idle_timeout_s", 0), ("max_upload_mb", 0), ("max_audio_seconds", -1), ("asr_piece_seconds", 0),
    ("align_piece_seconds", 0), ("max_new_tokens", 0), ("batch_max_size", 0), ("batch_wait_timeout_s", -0.1),
    ("torch_threads", -1), ("stream_max_sessions", 0), ("stream_window_seconds", 1), ("stream_chunk_seconds", 0),
    ("openai_segment_max_chars", 9), ("max_ongoing_requests", 0), ("mcp_timeout_s", 0),
    ("min_audio_seconds", -0.5), ("max_context_chars", -1),
])
def test_bounds_are_enforced(field, value):
    assert invalid_fields(**{field: value}) == {field}


@pytest.mark.parametrize("field,value", [
    ("batch_wait_timeout_s", 0), ("torch_threads", 0), ("min_audio_seconds", 0), ("max_context_chars", 0),
    ("openai_segment_max_chars", 10), ("stream_window_seconds", 1.5),
])
def test_bounds_are_inclusive_where_they_should_be(field, value):
    Settings(**{field: value})


def test_a_malformed_number_in_the_environment_names_the_field(monkeypatch):
    monkeypatch.setenv("QWEN_ASR_IDLE_TIMEOUT_S", "ten minutes")
    with pytest.raises(ValidationError, match="idle_timeout_s"):
        Settings()


@pytest.mark.parametrize("value,expected", [(ASR_0_6B, ASR_0_6B), (" Qwen3-ASR-0.6B ", ASR_0_6B)])
def test_default_model_is_normalised(value, expected):
    assert Settings(default_model=value).default_model == expected


@pytest.mark.parametrize("value", ["qwen3-asr-4b", "whisper-1", "", "qwen3-forced-aligner-0.6b"])
def test_default_model_must_be_a_served_asr_model(value):
    """A typo would turn every request without a model into a 400: it fails at startup instead."""
    assert invalid_fields(default_model=value) == {"default_model"}


# --- helpers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text,origins", [
    ("*", ["*"]),
    ("https://a.example, https://b.example", ["https://a.example", "https://b.example"]),
    (" https://a.example ,, ,", ["https://a.example"]),
    ('["https://a.example", " https://b.example "]', ["https://a.example", "https://b.example"]),
    ("", []),
])
def test_cors_origins_are_a_list_from_commas_or_json(monkeypatch, text, origins):
    monkeypatch.setenv("QWEN_ASR_CORS_ORIGINS", text)
    assert Settings().cors_origins == origins


def test_mcp_roots_are_a_list_and_the_paths_expand_home(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("QWEN_ASR_MCP_AUDIO_ROOTS", " ~/audio , /srv/data,, ")
    s = Settings()
    assert s.mcp_audio_roots == ["~/audio", "/srv/data"]
    assert s.mcp_root_paths() == [tmp_path / "audio", Path("/srv/data")]
    assert Settings(mcp_audio_roots="").mcp_root_paths() == []
    assert Settings(mcp_audio_roots=["/a", " "]).mcp_audio_roots == ["/a"]


@pytest.mark.parametrize("text,aliases", [
    (" Whisper-1 = QWEN3-ASR-0.6B , gpt-4o-transcribe=qwen3-asr-1.7b,,", {"whisper-1": ASR_0_6B,
                                                                        "gpt-4o-transcribe": ASR_1_7B}),
    ('{"Whisper-1": "qwen3-asr-0.6b"}', {"whisper-1": ASR_0_6B}),
    ("", {}),
    (" , ", {}),
])
def test_model_aliases_are_a_map_from_pairs_or_json(monkeypatch, text, aliases):
    monkeypatch.setenv("QWEN_ASR_OPENAI_MODEL_ALIASES", text)
    assert Settings().openai_model_aliases == aliases


@pytest.mark.parametrize("text", ["whisper-1=whisper-large", "whisper-1", "=qwen3-asr-0.6b", "a=b=c", "{not json"])
def test_a_bad_model_alias_fails_at_startup_naming_the_field(monkeypatch, text):
    """It used to pass start-up and answer every request for that name with a 500."""
    monkeypatch.setenv("QWEN_ASR_OPENAI_MODEL_ALIASES", text)
    with pytest.raises(ValidationError, match="openai_model_aliases"):
        Settings()


def test_a_malformed_json_list_fails_at_startup_naming_the_field(monkeypatch):
    monkeypatch.setenv("QWEN_ASR_CORS_ORIGINS", '["https://a.example"')
    with pytest.raises(ValidationError, match="cors_origins"):
        Settings()


def test_the_api_key_is_secret():
    s = Settings(api_key="s3cret")
    assert s.api_key_value == "s3cret"
    assert "s3cret" not in repr(s) and "s3cret" not in str(s.model_dump_json())
    assert Settings(**s.model_dump()).api_key_value == "s3cret"


def test_the_default_model_is_one_of_the_served_ids():
    assert get_args(Settings.model_fields["default_model"].annotation) == ASR_MODELS


@pytest.mark.parametrize("mb,expected", [(200, 200 * 1024 * 1024), (0.5, 512 * 1024), (1.5, 1572864)])
def test_max_upload_bytes(mb, expected):
    assert Settings(max_upload_mb=mb).max_upload_bytes == expected


def test_model_dump_round_trips_through_the_constructor():
    """The builder sends `settings.model_dump()` to the ingress, which rebuilds Settings from it."""
    original = Settings(api_key="k", idle_timeout_s=9, default_model=ASR_0_6B, cors_origins="https://x.example",
                        openai_model_aliases="whisper-1=qwen3-asr-0.6b", mcp_audio_roots="/a,/b")
    assert Settings(**original.model_dump()) == original


def test_every_field_is_described():
    """`.env.example` and /api/status readers rely on the descriptions."""
    undocumented = [name for name, info in Settings.model_fields.items() if not info.description]
    assert undocumented == []
