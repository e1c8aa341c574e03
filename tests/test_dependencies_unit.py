"""Every third-party module that serve_app/ and deployments/ import is a declared dependency in
pyproject.toml (soxr and pyyaml were imported but only arrived through other packages), or one that
a declared package pins for us (listed below with the package that brings it)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("serve_app", "deployments")
# Imported directly, but their version is the one the named declared package requires.
BROUGHT_BY = {
    "starlette": "fastapi",
    "pydantic": "fastapi",
    "mcp": "fastmcp",
    "fastmcp-slim": "fastmcp",
    "transformers": "qwen-asr",
    "tokenizers": "qwen-asr",
}


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    # torch is chosen per target (the cpu and cuda extras); the rest is runtime.
    return {_name(r) for r in [*project["dependencies"], *extras["cpu"], *extras["cuda"]]}


def imported_modules() -> set[str]:
    modules: set[str] = set()
    for folder in SOURCES:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    modules.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules.add(node.module.split(".")[0])
    return {m for m in modules if m not in sys.stdlib_module_names and m not in (*SOURCES, "__future__")}


def undeclared(modules: set[str], names: set[str]) -> dict[str, list[str]]:
    providers = metadata.packages_distributions()
    missing = {}
    for module in sorted(modules):
        dists = [d.lower().replace("_", "-") for d in providers.get(module, [module])]
        if not any(d in names or BROUGHT_BY.get(d) in names for d in dists):
            missing[module] = dists
    return missing


def test_every_runtime_import_is_a_declared_dependency():
    assert undeclared(imported_modules(), declared()) == {}


def test_the_check_catches_an_undeclared_import():
    names = declared() - {"soxr", "pyyaml"}
    assert set(undeclared(imported_modules(), names)) == {"soxr", "yaml"}


def test_runtime_dependencies_are_pinned_exactly():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    loose = [r for r in project["dependencies"] if "==" not in r and not r.startswith("numpy")]
    assert loose == []
