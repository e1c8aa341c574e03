#!/usr/bin/env bash
# Container entrypoint: start the whole service in the foreground.
#
# `python -m serve_app.launcher` starts a local Ray head (dashboard on 0.0.0.0:8265 inside the
# container; compose publishes it on the host's 127.0.0.1 only), Serve HTTP on :8200 with the app
# of /app/serve_config.yaml, and the MCP server on :8201. It is exec'd, so it receives SIGTERM from
# `docker stop` directly and stops every process it started; it exits non-zero when Serve or the
# MCP server dies, so `restart: unless-stopped` brings the container back. Run the container with
# an init (compose sets `init: true`; `docker run --init`) so Ray's orphaned children are reaped.
#
#   (no arguments)      start the service
#   --flag ...          start the service with extra launcher flags
#   any other command   run it instead (e.g. `bash`, `serve deploy /app/serve_config.yaml`)
set -euo pipefail

log() { printf '[entrypoint] %s\n' "$*" >&2; }

# The image sets these; keep safe defaults if someone runs it with a stripped environment.
export QWEN_ASR_HTTP_HOST="${QWEN_ASR_HTTP_HOST:-0.0.0.0}"
export QWEN_ASR_MCP_HOST="${QWEN_ASR_MCP_HOST:-0.0.0.0}"
export QWEN_ASR_MCP_AUDIO_ROOTS="${QWEN_ASR_MCP_AUDIO_ROOTS:-/data/audio}"
export QWEN_ASR_MODEL_1_7B_SOURCE="${QWEN_ASR_MODEL_1_7B_SOURCE:-/models/Qwen3-ASR-1.7B}"
export QWEN_ASR_MODEL_0_6B_SOURCE="${QWEN_ASR_MODEL_0_6B_SOURCE:-/models/Qwen3-ASR-0.6B}"
export QWEN_ASR_ALIGNER_SOURCE="${QWEN_ASR_ALIGNER_SOURCE:-/models/Qwen3-ForcedAligner-0.6B}"
export HF_HUB_OFFLINE="${HF_HUB_OFFLINE:-1}"
export TRANSFORMERS_OFFLINE="${TRANSFORMERS_OFFLINE:-1}"

CONFIG=/app/serve_config.yaml

if [[ $# -gt 0 && $1 != -* ]]; then
    exec "$@"
fi

demo=0
for arg in "$@"; do
    [[ $arg == --demo ]] && demo=1
done

if [[ $demo -eq 0 ]]; then
    # Models are loaded lazily, so a missing folder would only show at the first request: say it now.
    missing=0
    for src in "$QWEN_ASR_MODEL_1_7B_SOURCE" "$QWEN_ASR_MODEL_0_6B_SOURCE" "$QWEN_ASR_ALIGNER_SOURCE"; do
        if [[ $src == /* && ! -f $src/config.json ]]; then
            log "ERROR: model folder $src has no config.json."
            missing=1
        fi
    done
    if [[ $missing -ne 0 ]]; then
        log "Build the image with the models baked in (BAKE_MODELS=1, the default), or mount a folder"
        log "holding Qwen3-ASR-1.7B/, Qwen3-ASR-0.6B/ and Qwen3-ForcedAligner-0.6B/ at /models."
        exit 2
    fi
    if [[ ! -f $CONFIG ]]; then
        log "ERROR: $CONFIG not found (is ./serve_config.yaml next to docker-compose.yml?)."
        exit 2
    fi
    if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
        log "WARNING: no NVIDIA GPU visible in the container (is the NVIDIA Container Toolkit installed"
        log "and the GPU reserved?). The models would run on the CPU, very slowly."
    else
        log "GPU: $(nvidia-smi -L | head -n 1)"
    fi
fi

log "starting: python -m serve_app.launcher --config $CONFIG --dashboard-host 0.0.0.0 $*"
exec python -m serve_app.launcher --config "$CONFIG" --dashboard-host 0.0.0.0 "$@"
