"""Runs the UI's JS unit tests (tests/js/*.test.mjs) with node's built-in test runner, one pytest test
per file so a failure points at its module. node is required: `make test` installs Debian's nodejs.

Each file must also report at least its expected number of passing tests, so a file that silently
stops loading (or loses tests) fails here instead of passing with "# fail 0" and nothing run.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

JS_TESTS = Path(__file__).parent / "js"

# file -> minimum number of passing node tests (the count written in that file)
EXPECTED_PASSES = {
    "api.test.mjs": 20,
    "audio-utils.test.mjs": 22,
    "cues.test.mjs": 7,
    "exports.test.mjs": 7,
    "first-paint.test.mjs": 4,
    "format.test.mjs": 14,
    "han-fold.test.mjs": 5,
    "gpu-panel.test.mjs": 23,
    "gpu-reasons.test.mjs": 4,
    "history-ui.test.mjs": 5,
    "i18n.test.mjs": 17,
    "language-picker.test.mjs": 22,
    "perf-panel.test.mjs": 15,
    "recorder.test.mjs": 8,
    "result.test.mjs": 17,
    "settings.test.mjs": 7,
    "shortcuts.test.mjs": 4,
    "source-check.test.mjs": 4,
    "streaming.test.mjs": 20,
    "subtitles.test.mjs": 20,
    "timestamps.test.mjs": 29,
    "toast.test.mjs": 10,
    "upload-progress.test.mjs": 6,
}

JS_FILES = sorted(p.name for p in JS_TESTS.glob("*.test.mjs"))


def _node() -> str:
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.fail("node is not installed: the UI unit tests need it (apt-get install nodejs; `make test` does this)")
    return node


def test_every_js_test_file_has_an_expected_count():
    assert JS_FILES, f"no *.test.mjs files found in {JS_TESTS}"
    assert set(JS_FILES) == set(EXPECTED_PASSES), (
        "tests/js and EXPECTED_PASSES disagree: "
        f"missing counts for {sorted(set(JS_FILES) - set(EXPECTED_PASSES))}, "
        f"missing files {sorted(set(EXPECTED_PASSES) - set(JS_FILES))}"
    )


@pytest.mark.parametrize("name", JS_FILES)
def test_ui_js_unit_file(name):
    node = _node()
    result = subprocess.run(
        [node, "--test", "--test-reporter=tap", str(JS_TESTS / name)],
        capture_output=True, text=True, timeout=120, cwd=JS_TESTS.parent.parent,
    )
    out = result.stdout
    detail = out[-6000:] + result.stderr[-2000:]
    assert result.returncode == 0, detail
    assert re.search(r"^# fail 0$", out, re.M), detail
    passed = re.search(r"^# pass (\d+)$", out, re.M)
    assert passed, f"no pass count in the node output:\n{detail}"
    assert int(passed.group(1)) >= EXPECTED_PASSES.get(name, 1), (
        f"{name}: only {passed.group(1)} node tests passed, expected at least {EXPECTED_PASSES.get(name)}\n{detail}"
    )
