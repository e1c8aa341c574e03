"""Build the tiny checkpoints: ``python -m deployments.tiny --out .cache/tiny-models [--force]``."""

from __future__ import annotations

import argparse
import json
import sys
import time

from .builder import MODEL_NAMES, ensure_tiny_models


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m deployments.tiny", description=__doc__)
    parser.add_argument("--out", default=".cache/tiny-models", help="folder that receives one subfolder per model")
    parser.add_argument("--force", action="store_true", help="rebuild even the folders that are complete")
    parser.add_argument(
        "--only", nargs="+", choices=MODEL_NAMES, default=list(MODEL_NAMES), metavar="NAME",
        help=f"build only these ({', '.join(MODEL_NAMES)})",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    paths = ensure_tiny_models(args.out, force=args.force, names=args.only)
    print(json.dumps(paths, indent=2))
    print(f"ready in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
