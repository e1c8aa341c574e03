"""tests/requirements_check.py: a missing requirement fails the run; a skip needs the explicit opt-in."""

from __future__ import annotations

import sys

import pytest

from tests import requirements_check as rc


@pytest.fixture
def strict(monkeypatch):
    monkeypatch.delenv(rc.ALLOW_SKIP_ENV, raising=False)


@pytest.fixture
def opted_in(monkeypatch):
    monkeypatch.setenv(rc.ALLOW_SKIP_ENV, "1")


def test_missing_module_fails_with_what_to_install(strict):
    with pytest.raises(pytest.fail.Exception) as caught:
        rc.require_module("surely_not_installed_module_xyz", "pip install xyz")
    message = str(caught.value)
    assert "surely_not_installed_module_xyz" in message and "pip install xyz" in message
    assert rc.ALLOW_SKIP_ENV in message


def test_missing_file_and_command_fail(strict, tmp_path):
    with pytest.raises(pytest.fail.Exception, match="apt-get install chromium"):
        rc.require_file(tmp_path / "chromium", "apt-get install chromium")
    with pytest.raises(pytest.fail.Exception, match="not on PATH"):
        rc.require_command("surely-not-a-program-xyz", "apt-get install xyz")


@pytest.mark.parametrize("value", ["", "0", "true", "yes", " 2 "])
def test_only_the_value_1_opts_in(monkeypatch, value):
    monkeypatch.setenv(rc.ALLOW_SKIP_ENV, value)
    assert rc.skips_allowed() is False
    with pytest.raises(pytest.fail.Exception):
        rc.missing("thing", "install it")


def test_the_opt_in_turns_the_failure_into_a_skip(opted_in):
    with pytest.raises(pytest.skip.Exception) as caught:
        rc.require_module("surely_not_installed_module_xyz", "pip install xyz")
    assert "pip install xyz" in str(caught.value)


def test_present_requirements_are_returned(strict, tmp_path):
    assert rc.require_module("json", "-") is sys.modules["json"]
    present = tmp_path / "tool"
    present.write_text("")
    assert rc.require_file(present, "-") == present
    assert rc.require_command(sys.executable, "-") == sys.executable
