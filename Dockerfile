# syntax=docker/dockerfile:1
#
# All-in-one Qwen3-ASR image: Ray head + Serve (UI/API :8200) + MCP (:8201) + dashboard (:8265),
# with the three models baked into /models so the container never downloads at run time.
#
# Layer order (most stable first, so a code change rebuilds only the last layers):
#   python (uv-managed 3.12) -> models (own stage) -> apt -> torch -> project deps -> flash-attn -> code
#
# Build args:
#   BAKE_MODELS=1            0 = bake nothing; mount a folder with the three models at /models instead
#   MODEL_1_7B_ID / MODEL_0_6B_ID / ALIGNER_ID / MODEL_REVISION   what gets baked
#   TORCH_INDEX_URL          PyTorch wheel index (CUDA 12.6 build; see the comment below)
#   FLASH_ATTN_WHEEL / FLASH_ATTN_SHA256   the prebuilt upstream flash-attn wheel (never compiled)
# An optional BuildKit secret `hf_token` is used for gated/private model ids:
#   docker build --secret id=hf_token,env=HF_TOKEN .

ARG CUDA_IMAGE=nvidia/cuda:12.4.1-devel-ubuntu22.04
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9
# Must match the flash-attn wheel's cp tag (checked at build time and by tests/test_deploy_files.py).
ARG PYTHON_VERSION=3.12

FROM ${UV_IMAGE} AS uv

# ---------------------------------------------------------------------------------------------
# base: CUDA 12.4 devel + a uv-managed CPython 3.12 (Ubuntu 22.04 ships 3.10).
# ---------------------------------------------------------------------------------------------
FROM ${CUDA_IMAGE} AS base
ARG PYTHON_VERSION
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV DEBIAN_FRONTEND=noninteractive \
    LANG=C.UTF-8 \
    LC_ALL=C.UTF-8 \
    UV_PYTHON_INSTALL_DIR=/opt/uv/python \
    UV_PYTHON_PREFERENCE=only-managed \
    UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1 \
    UV_NO_CACHE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
COPY --from=uv /uv /uvx /usr/local/bin/
RUN uv python install "${PYTHON_VERSION}" \
    && chmod -R a+rX /opt/uv

# ---------------------------------------------------------------------------------------------
# models: downloaded once, in a stage of their own, so no later change re-downloads them.
# ---------------------------------------------------------------------------------------------
FROM base AS models
ARG PYTHON_VERSION
ARG BAKE_MODELS=1
ARG MODEL_1_7B_ID=Qwen/Qwen3-ASR-1.7B
ARG MODEL_0_6B_ID=Qwen/Qwen3-ASR-0.6B
ARG ALIGNER_ID=Qwen/Qwen3-ForcedAligner-0.6B
ARG MODEL_REVISION=
ARG HF_HUB_VERSION=0.36.2
COPY docker/download_models.py /opt/build/download_models.py
RUN --mount=type=secret,id=hf_token,required=false \
    mkdir -p /models \
    && if [ "${BAKE_MODELS}" = "1" ]; then \
        uv venv /opt/dl --python "${PYTHON_VERSION}" \
        && uv pip install --python /opt/dl/bin/python "huggingface_hub[hf_xet]==${HF_HUB_VERSION}" \
        && /opt/dl/bin/python /opt/build/download_models.py --dest /models \
            --revision "${MODEL_REVISION}" \
            --model "${MODEL_1_7B_ID}=Qwen3-ASR-1.7B" \
            --model "${MODEL_0_6B_ID}=Qwen3-ASR-0.6B" \
            --model "${ALIGNER_ID}=Qwen3-ForcedAligner-0.6B"; \
    else \
        echo "BAKE_MODELS=${BAKE_MODELS}: no models baked; mount them at /models at run time."; \
    fi \
    && chmod -R a+rX /models

# ---------------------------------------------------------------------------------------------
# runtime
# ---------------------------------------------------------------------------------------------
FROM base AS runtime
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# torch 2.9.1 has no cu124 build (2.9 ships cu126 / cu128 / cu130). cu126 is the nearest CUDA 12
# build to the base image's 12.4 toolkit: the wheel brings its own CUDA 12.6 runtime libraries and
# runs on any driver the 12.4 base image already requires (CUDA 12 minor-version compatibility),
# and the flash-attn "cu12" wheel is built for any CUDA 12 torch.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cu126
ARG FLASH_ATTN_RELEASE=https://github.com/Dao-AILab/flash-attention/releases/download/v2.8.3
ARG FLASH_ATTN_WHEEL=flash_attn-2.8.3+cu12torch2.9cxx11abiTRUE-cp312-cp312-linux_x86_64.whl
ARG FLASH_ATTN_SHA256=4e2f9e39313266b1544b68138b15b91ee6221eccf14f7902b7c6620351340810
ARG APP_UID=1000
ARG PYTHON_VERSION

# The models first: this layer only changes when the models stage does.
COPY --from=models /models /models

# System packages: ffmpeg (audio decoding), espeak-ng (the UI's built-in sample clips, made on the
# server), curl (healthcheck, wheel download).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg espeak-ng curl ca-certificates \
    && rm -rf /var/lib/apt/lists/*

# Non-root user. The NVIDIA runtime exposes /dev/nvidia* world-accessible, so GPU use needs no root.
RUN groupadd --gid "${APP_UID}" asr \
    && useradd --create-home --uid "${APP_UID}" --gid "${APP_UID}" --shell /bin/bash asr

ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:${PATH}
WORKDIR /app

# torch: the requirement is read from pyproject.toml's `cuda` extra (the one source of pins) and
# taken from the PyTorch CUDA 12.6 index. The build check lives next to it.
COPY pyproject.toml ./
COPY docker/check_flash_attn_abi.py /opt/build/check_flash_attn_abi.py
RUN uv venv "${VIRTUAL_ENV}" --python "${PYTHON_VERSION}" \
    && TORCH_REQ="$(python /opt/build/check_flash_attn_abi.py --print-torch-requirement pyproject.toml)" \
    && echo "installing ${TORCH_REQ} from ${TORCH_INDEX_URL}" \
    && uv pip install --index-url "${TORCH_INDEX_URL}" "${TORCH_REQ}"

# Everything else pinned in pyproject.toml (dependencies + the `cuda` extra), without the project
# code itself; the torch installed above already satisfies the pin and is kept.
RUN uv pip install -r pyproject.toml --extra cuda

# flash-attn: prebuilt upstream wheel, never compiled. Check the ABI first, fail loudly on mismatch.
RUN python /opt/build/check_flash_attn_abi.py "${FLASH_ATTN_WHEEL}" --pyproject pyproject.toml \
    && curl -fsSL --retry 3 -o "/tmp/${FLASH_ATTN_WHEEL}" "${FLASH_ATTN_RELEASE}/${FLASH_ATTN_WHEEL}" \
    && echo "${FLASH_ATTN_SHA256}  /tmp/${FLASH_ATTN_WHEEL}" | sha256sum -c - \
    && uv pip install "/tmp/${FLASH_ATTN_WHEEL}" \
    && rm -f "/tmp/${FLASH_ATTN_WHEEL}" \
    && python /opt/build/check_flash_attn_abi.py "${FLASH_ATTN_WHEEL}" --installed

# Run-time environment: zero downloads, models from /models, bind to all interfaces in the container.
# NUMBA_CACHE_DIR: librosa (used by qwen-asr) caches numba code next to its sources by default,
# which the non-root user cannot write ("no locator available").
ENV PYTHONPATH=/app \
    NUMBA_CACHE_DIR=/tmp/numba-cache \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    HF_HUB_DISABLE_TELEMETRY=1 \
    RAY_USAGE_STATS_ENABLED=0 \
    QWEN_ASR_MODEL_1_7B_SOURCE=/models/Qwen3-ASR-1.7B \
    QWEN_ASR_MODEL_0_6B_SOURCE=/models/Qwen3-ASR-0.6B \
    QWEN_ASR_ALIGNER_SOURCE=/models/Qwen3-ForcedAligner-0.6B \
    QWEN_ASR_HTTP_HOST=0.0.0.0 \
    QWEN_ASR_MCP_HOST=0.0.0.0 \
    QWEN_ASR_MCP_AUDIO_ROOTS=/data/audio

# The code last: editing it rebuilds only these layers.
COPY --chmod=0755 docker/entrypoint.sh /usr/local/bin/qwen-asr-entrypoint
COPY . /app
RUN mkdir -p /data/audio && chown asr:asr /data/audio

USER ${APP_UID}:${APP_UID}
EXPOSE 8200 8201 8265
HEALTHCHECK --interval=30s --timeout=10s --start-period=180s --retries=3 \
    CMD ["/bin/sh", "-c", "curl -fsS -o /dev/null http://127.0.0.1:${QWEN_ASR_HTTP_PORT:-8200}/health || exit 1"]
ENTRYPOINT ["/usr/local/bin/qwen-asr-entrypoint"]
