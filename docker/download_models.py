"""Build-time model baking: download hub repos into fixed folders under /models.

Runs only inside `docker build` (the Dockerfile's `models` stage); never at run time and never in
tests. Each `--model ID=FOLDER` is fetched with huggingface_hub.snapshot_download into DEST/FOLDER,
so the run-time paths stay fixed whatever id was baked:

    python download_models.py --dest /models \
        --model Qwen/Qwen3-ASR-1.7B=Qwen3-ASR-1.7B --model Qwen/Qwen3-ASR-0.6B=Qwen3-ASR-0.6B \
        --model Qwen/Qwen3-ForcedAligner-0.6B=Qwen3-ForcedAligner-0.6B

A token for gated or private repos is read from the BuildKit secret /run/secrets/hf_token when it
exists (`docker build --secret id=hf_token,env=HF_TOKEN`), so it never lands in an image layer.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

SECRET = Path("/run/secrets/hf_token")
# Only git metadata is skipped: every other file of the repo may be read by qwen-asr/transformers.
IGNORE = [".gitattributes"]


def parse_model(spec: str) -> tuple[str, str]:
    repo_id, sep, folder = spec.partition("=")
    if not sep or not repo_id.strip() or not folder.strip() or "/" in folder or folder in {".", ".."}:
        raise argparse.ArgumentTypeError(f"expected REPO_ID=FOLDER with a plain folder name, got {spec!r}")
    return repo_id.strip(), folder.strip()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Bake hub models into an image folder.")
    ap.add_argument("--dest", type=Path, required=True)
    ap.add_argument("--model", type=parse_model, action="append", required=True, metavar="REPO_ID=FOLDER")
    ap.add_argument("--revision", default="", help="branch, tag or commit for every model (empty = default)")
    ap.add_argument("--retries", type=int, default=3)
    args = ap.parse_args(argv)

    from huggingface_hub import snapshot_download  # noqa: PLC0415  (only in the build venv)

    token = SECRET.read_text(encoding="utf-8").strip() if SECRET.is_file() else None
    args.dest.mkdir(parents=True, exist_ok=True)
    for repo_id, folder in args.model:
        target = args.dest / folder
        for attempt in range(1, args.retries + 1):
            try:
                print(f"downloading {repo_id} -> {target} (attempt {attempt})", flush=True)
                snapshot_download(
                    repo_id=repo_id,
                    revision=args.revision or None,
                    local_dir=target,
                    token=token,
                    ignore_patterns=IGNORE,
                )
                break
            except Exception as exc:  # network hiccups during a long build: retry, then fail loudly
                if attempt == args.retries:
                    print(f"ERROR: could not download {repo_id}: {exc}", file=sys.stderr)
                    return 1
                time.sleep(5 * attempt)
        if not (target / "config.json").is_file():
            print(f"ERROR: {repo_id} has no config.json in {target}; is it a Qwen3-ASR model repo?", file=sys.stderr)
            return 1
        # snapshot_download keeps download metadata here; the image does not need it.
        shutil.rmtree(target / ".cache", ignore_errors=True)
        size = sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
        print(f"ok: {repo_id} ({size / 1e9:.2f} GB)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
