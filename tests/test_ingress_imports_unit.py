"""The ingress runs no model, so it must start without torch, transformers or nagisa."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "nagisa", "qwen_asr")


def imported_after(statement: str) -> dict[str, bool]:
    code = f"import json, sys\n{statement}\nprint(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_ingress_module_imports_no_model_package():
    assert imported_after("import serve_app.ingress, serve_app.app") == {name: False for name in HEAVY}


def test_qwen_utils_are_qwen_asrs_own_functions():
    """The helpers are loaded from qwen-asr's file, not copied: same source, same answers."""
    import qwen_asr.inference.utils as upstream

    from serve_app import qwen_utils

    assert Path(qwen_utils.SOURCE_FILE).resolve() == Path(upstream.__file__).resolve()
    assert qwen_utils.merge_languages(["Chinese", "English", "English"]) == upstream.merge_languages(
        ["Chinese", "English", "English"])
