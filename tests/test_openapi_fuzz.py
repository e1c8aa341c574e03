"""schemathesis against the live /openapi.json: no generated request may cause a 5xx."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.stack import LIFECYCLE_APP

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def test_no_server_errors_for_schema_conforming_requests(stack, tmp_path):
    # Fuzz the lifecycle app so that the releases the fuzzer triggers do not slow other tests.
    result = subprocess.run(
        [str(SCHEMATHESIS), "run", stack.url("/openapi.json", LIFECYCLE_APP),
         "--url", stack.url("", LIFECYCLE_APP),
         "--checks", "not_a_server_error", "--mode", "positive", "--phases", "examples,coverage,fuzzing",
         "--max-examples", "8", "--seed", "1", "--request-timeout", "240",
         "--exclude-path-regex", "^/api/transcribe/stream$"],
        capture_output=True, text=True, timeout=900, cwd=tmp_path,
    )
    print(result.stdout[-6000:])
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
