"""Small modules with one concern: no source file (Python, JS, CSS) is over MAX_LINES lines.

ui/index.html is the page's markup (every panel's static skeleton), not a module, and is left out.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE_DIRS = ("serve_app", "deployments", "ui")
MODULES = {".py", ".js", ".mjs", ".css"}
MAX_LINES = 400


def too_long(folder: Path, limit: int = MAX_LINES) -> dict[str, int]:
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in MODULES and "__pycache__" not in path.parts:
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > limit:
                found[str(path.relative_to(folder))] = lines
    return found


def test_the_check_finds_a_long_file(tmp_path):
    (tmp_path / "long.js").write_text("x;\n" * 5, encoding="utf-8")
    (tmp_path / "short.py").write_text("x = 1\n", encoding="utf-8")
    (tmp_path / "page.html").write_text("<p>\n" * 9, encoding="utf-8")
    assert too_long(tmp_path, limit=4) == {"long.js": 5}


def test_no_source_module_is_over_the_limit():
    long_files = {f"{d}/{name}": n for d in SOURCE_DIRS for name, n in too_long(ROOT / d).items()}
    assert long_files == {}, f"split these by concern (over {MAX_LINES} lines): {long_files}"
