"""The brief's rule: at least as many lines of tests as of source (non-blank lines).

Source is what ships: serve_app/, deployments/ and ui/ (Python, JS, HTML, CSS). Tests are
everything under tests/ (pytest modules, their helpers and the UI's node tests).
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE_DIRS = ("serve_app", "deployments", "ui")
COUNTED = {".py", ".js", ".mjs", ".html", ".css"}


def non_blank_lines(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix in COUNTED and "__pycache__" not in path.parts:
            total += sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return total


def test_non_blank_lines_count_only_code_files(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n\n   \ny = 2\n", encoding="utf-8")
    (tmp_path / "b.js").write_text("let a;\n", encoding="utf-8")
    (tmp_path / "notes.md").write_text("not code\n", encoding="utf-8")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "c.py").write_text("z = 3\n", encoding="utf-8")
    assert non_blank_lines(tmp_path) == 3


def test_tests_are_at_least_as_long_as_the_source():
    source = sum(non_blank_lines(ROOT / d) for d in SOURCE_DIRS)
    tests = non_blank_lines(ROOT / "tests")
    print(f"non-blank lines: tests {tests}, source {source} ({tests / source:.2f}x)")
    assert source > 1000, "the source folders were not found"
    assert tests >= source, f"tests have {tests} non-blank lines, the source {source}: the brief asks for tests >= source"
