#!/usr/bin/env bash
# Start the Qwen3-ASR service. See ./start.sh --help.
set -euo pipefail

HERE="${BASH_SOURCE[0]%/*}"
[[ $HERE == "${BASH_SOURCE[0]}" ]] && HERE=.
cd "$HERE"

HTTP_PORT=8200
MCP_PORT=8201
DASHBOARD_PORT=8265
SERVICE=qwen3-asr

usage() {
    cat <<'EOF'
Usage: ./start.sh [--demo | --local] [--help]

  (no flag)  Docker deployment on a GPU host: picks the GPU with the least memory in use
             (nvidia-smi), runs `docker compose up -d --build`, waits for /health and prints
             the URLs. Set QWEN_ASR_GPU_ID=<index> to choose the GPU yourself.
  --demo     No Docker, no GPU, no downloads: tiny built-in CPU checkpoints. Sets up .venv
             (make venv) and the checkpoints on first use, then runs in the foreground on
             http://127.0.0.1:8200 (MCP on :8201; QWEN_ASR_HTTP_PORT etc. change them) until Ctrl-C.
  --local    Real models without Docker, in the foreground (make venv on first use; models are
             fetched from the hub unless QWEN_ASR_MODEL_1_7B_SOURCE etc. name local folders).
  --help     This text.

Environment (or .env): QWEN_ASR_GPU_ID (Docker GPU index, default: least used),
QWEN_ASR_START_TIMEOUT (seconds to wait for /health, default 600); every service setting is
listed in .env.example.
EOF
}

die() {
    printf 'ERROR: %s\n' "$1" >&2
    shift
    local line
    for line in "$@"; do printf '       %s\n' "$line" >&2; done
    exit 1
}
info() { printf '==> %s\n' "$*"; }

# The value of NAME in ./.env (last assignment wins), empty if unset. Pure bash: no grep/sed needed.
dotenv_value() {
    local name=$1 line value=""
    [[ -f .env ]] || return 0
    while IFS= read -r line || [[ -n $line ]]; do
        line="${line%$'\r'}"
        if [[ $line =~ ^[[:space:]]*(export[[:space:]]+)?${name}=(.*)$ ]]; then
            value="${BASH_REMATCH[2]}"
            value="${value%\"}" && value="${value#\"}"
            value="${value%\'}" && value="${value#\'}"
        fi
    done <.env
    printf '%s' "$value"
}

# --- local modes ---------------------------------------------------------------------------

# .venv exists and holds the packages the service needs (found, not imported: importing takes ~20 s).
venv_ready() {
    [[ -x .venv/bin/python ]] &&
        .venv/bin/python -c '
import importlib.util, sys
need = ("ray", "fastapi", "fastmcp", "qwen_asr", "pydantic_settings", "torch", "soundfile", "av", "httpx")
sys.exit(any(importlib.util.find_spec(m) is None for m in need))' >/dev/null 2>&1
}

ensure_venv() {
    if venv_ready; then
        return
    fi
    command -v make >/dev/null 2>&1 ||
        die "'make' is not installed; it is needed to create .venv (make venv)." \
            "Install it (e.g. sudo apt-get install make) and run ./start.sh again."
    info "setting up .venv (make venv); this happens once"
    make venv
    venv_ready || die ".venv is still incomplete after 'make venv'; see the output above."
}

# The generator is idempotent: it builds only the checkpoints that are missing or outdated
# (a marker records its version), so it runs on every --demo start and is quick once built.
ensure_tiny_models() {
    local dir="${QWEN_ASR_TINY_MODELS_DIR:-$(dotenv_value QWEN_ASR_TINY_MODELS_DIR)}"
    dir="${dir:-.cache/tiny-models}"
    info "tiny demo checkpoints in $dir (built on first use)"
    .venv/bin/python -m deployments.tiny --out "$dir"
}

run_demo() {
    ensure_venv
    ensure_tiny_models
    # The launcher prints the real URLs (QWEN_ASR_HTTP_PORT, QWEN_ASR_MCP_PORT, QWEN_ASR_DASHBOARD_PORT).
    info "demo: the launcher prints the UI, MCP and dashboard URLs once the service is up; Ctrl-C stops everything."
    exec .venv/bin/python -m serve_app.launcher --demo
}

run_local() {
    ensure_venv
    if ! command -v nvidia-smi >/dev/null 2>&1; then
        printf 'WARNING: nvidia-smi not found: the models will run on the CPU (slow).\n' >&2
    fi
    info "local: the launcher prints the UI, MCP and dashboard URLs once the service is up; Ctrl-C stops everything."
    exec .venv/bin/python -m serve_app.launcher
}

# --- Docker mode ---------------------------------------------------------------------------

COMPOSE=()
DEMO_HINT="Or, without Docker: ./start.sh --demo runs the whole product (UI, API, MCP) on this machine with tiny CPU models, no GPU and no downloads; ./start.sh --local runs the real models here."

find_compose() {
    command -v docker >/dev/null 2>&1 ||
        die "Docker is not installed (no 'docker' on PATH)." \
            "Install Docker Engine: https://docs.docker.com/engine/install/" \
            "$DEMO_HINT"
    if docker compose version >/dev/null 2>&1; then
        COMPOSE=(docker compose)
    elif command -v docker-compose >/dev/null 2>&1 && docker-compose version >/dev/null 2>&1; then
        COMPOSE=(docker-compose)
    else
        die "The Docker Compose plugin is missing ('docker compose' does not work)." \
            "Install it: sudo apt-get install docker-compose-plugin" \
            "(https://docs.docker.com/compose/install/linux/)." \
            "$DEMO_HINT"
    fi
    docker info >/dev/null 2>&1 ||
        die "Cannot reach the Docker daemon." \
            "Is it running (sudo systemctl start docker)? Is your user in the 'docker' group?" \
            "$DEMO_HINT"
}

check_nvidia_runtime() {
    # Captured first: `docker info | grep -q` can fail under pipefail when grep exits early.
    local docker_info
    docker_info="$(docker info 2>/dev/null || true)"
    if command -v nvidia-container-runtime-hook >/dev/null 2>&1 ||
        command -v nvidia-container-toolkit >/dev/null 2>&1 ||
        command -v nvidia-ctk >/dev/null 2>&1 ||
        [[ ${docker_info,,} == *nvidia* ]]; then
        return
    fi
    die "The NVIDIA Container Toolkit (the Docker GPU runtime) is not installed." \
        "Install it: https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/install-guide.html" \
        "then: sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker"
}

# Print the index of the GPU with the least memory used, from
# `nvidia-smi --query-gpu=index,memory.used --format=csv,noheader,nounits` ("0, 1234" per line).
pick_gpu() {
    local out idx used best="" best_used=""
    out="$(nvidia-smi --query-gpu=index,memory.used --format=csv,noheader,nounits)" ||
        die "nvidia-smi failed: is the NVIDIA driver loaded?" "Set QWEN_ASR_GPU_ID=<index> to skip the query."
    while IFS=', ' read -r idx used; do
        [[ $idx =~ ^[0-9]+$ && $used =~ ^[0-9]+$ ]] || continue
        if [[ -z $best ]] || ((used < best_used)); then
            best=$idx
            best_used=$used
        fi
    done <<<"$out"
    [[ -n $best ]] || die "nvidia-smi listed no GPU." "Set QWEN_ASR_GPU_ID=<index> to choose one."
    printf '%s %s\n' "$best" "$best_used"
}

healthy() {
    if command -v curl >/dev/null 2>&1; then
        curl -fsS -m 5 -o /dev/null "http://127.0.0.1:${HTTP_PORT}/health" 2>/dev/null
    else
        [[ "$("${COMPOSE[@]}" ps --format '{{.Health}}' "$SERVICE" 2>/dev/null)" == healthy ]]
    fi
}

wait_for_health() {
    local timeout="${QWEN_ASR_START_TIMEOUT:-600}" start=$SECONDS state
    info "waiting for http://127.0.0.1:${HTTP_PORT}/health (up to ${timeout}s)"
    while ((SECONDS - start < timeout)); do
        if healthy; then
            return 0
        fi
        state="$("${COMPOSE[@]}" ps -a --format '{{.State}}' "$SERVICE" 2>/dev/null || true)"
        case $state in
            exited* | dead* | restarting*)
                "${COMPOSE[@]}" logs --tail 40 "$SERVICE" >&2 || true
                die "The container is '$state' instead of starting; its last log lines are above." \
                    "Full logs: ${COMPOSE[*]} logs -f $SERVICE"
                ;;
        esac
        sleep 3
    done
    die "/health did not answer within ${timeout}s." "Logs: ${COMPOSE[*]} logs -f $SERVICE"
}

print_urls() {
    local host
    host="$(hostname -I 2>/dev/null | awk '{print $1}' || true)"
    host="${host:-localhost}"
    cat <<EOF

Qwen3-ASR is up (GPU ${QWEN_ASR_GPU_ID}).
  UI         http://${host}:${HTTP_PORT}/
  API docs   http://${host}:${HTTP_PORT}/docs
  MCP        http://${host}:${MCP_PORT}/mcp
  Dashboard  http://127.0.0.1:${DASHBOARD_PORT}/   (bound to this host's loopback only)
             from your machine: ssh -N -L ${DASHBOARD_PORT}:127.0.0.1:${DASHBOARD_PORT} ${USER:-you}@${host}
             then open http://127.0.0.1:${DASHBOARD_PORT}/
Logs: ${COMPOSE[*]} logs -f ${SERVICE}    Stop: ${COMPOSE[*]} down
EOF
}

run_docker() {
    find_compose
    check_nvidia_runtime
    QWEN_ASR_GPU_ID="${QWEN_ASR_GPU_ID:-$(dotenv_value QWEN_ASR_GPU_ID)}"
    if [[ -n $QWEN_ASR_GPU_ID ]]; then
        info "using GPU ${QWEN_ASR_GPU_ID} (QWEN_ASR_GPU_ID)"
    else
        command -v nvidia-smi >/dev/null 2>&1 ||
            die "nvidia-smi not found: install the NVIDIA driver on this host." \
                "Or set QWEN_ASR_GPU_ID=<index> to choose the GPU yourself."
        local picked
        picked="$(pick_gpu)"
        QWEN_ASR_GPU_ID="${picked%% *}"
        info "using GPU ${QWEN_ASR_GPU_ID} (least memory used: ${picked#* } MiB)"
    fi
    export QWEN_ASR_GPU_ID
    local audio_dir="${QWEN_ASR_AUDIO_DIR:-$(dotenv_value QWEN_ASR_AUDIO_DIR)}"
    mkdir -p "${audio_dir:-./data/audio}"
    info "${COMPOSE[*]} up -d --build (the first build downloads the models: several GB)"
    "${COMPOSE[@]}" up -d --build
    wait_for_health
    print_urls
}

# --- main ----------------------------------------------------------------------------------

mode=docker
while [[ $# -gt 0 ]]; do
    case $1 in
        --demo) mode=demo ;;
        --local) mode=local ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            usage >&2
            die "unknown option: $1"
            ;;
    esac
    shift
done

case $mode in
    demo) run_demo ;;
    local) run_local ;;
    docker) run_docker ;;
esac
