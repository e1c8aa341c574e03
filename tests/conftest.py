"""Shared fixtures: tiny checkpoints, speech fixtures and the real stack (Ray + Serve on CPU)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.audio_fixtures import build_fixtures
from tests.stack import Stack, start_stack, stop_stack

ROOT = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A release makes the next request for that model a cold start (a new Ray actor: 10-30 s on
    # 2 cores). Tests whose subject is a release run last, so the rest share the warm replicas.
    items.sort(key=lambda item: item.get_closest_marker("releases_models") is not None)


@pytest.fixture(scope="session")
def tiny_models() -> dict[str, str]:
    from deployments.tiny import ensure_tiny_models

    out = Path(os.environ.get("TINY_MODELS_DIR", ROOT / ".cache" / "tiny-models"))
    return {name: str(path) for name, path in ensure_tiny_models(out).items()}


@pytest.fixture(scope="session")
def audio(tmp_path_factory) -> dict[str, Path]:
    return build_fixtures(tmp_path_factory.mktemp("audio"))


@pytest.fixture(scope="session")
def stack(tiny_models) -> Stack:
    started = start_stack(tiny_models)
    try:
        yield started
    finally:
        stop_stack()
