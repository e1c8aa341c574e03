"""Build-time guard for the prebuilt flash-attn wheel (stdlib only; torch is imported lazily).

A flash-attn wheel is a compiled extension for one exact combination of Python, torch (major.minor),
CUDA major version and C++ ABI. Installing a wheel that does not match imports fine at build time
and then fails at run time with `undefined symbol` errors, so the Dockerfile runs this first:

    python check_flash_attn_abi.py WHEEL_NAME [--pyproject pyproject.toml]   # before installing
    python check_flash_attn_abi.py WHEEL_NAME --installed                    # after installing
    python check_flash_attn_abi.py --print-torch-requirement pyproject.toml  # torch pin of `cuda`

Exit status 0 = match; 1 = mismatch, with one line per problem on stderr.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
from dataclasses import dataclass
from pathlib import Path

# flash_attn-2.8.3+cu12torch2.9cxx11abiTRUE-cp312-cp312-linux_x86_64.whl
_WHEEL_RE = re.compile(
    r"^flash_attn-(?P<version>[0-9][0-9A-Za-z.]*)"
    r"\+cu(?P<cuda>\d+)torch(?P<torch>\d+\.\d+)cxx11abi(?P<abi>TRUE|FALSE)"
    r"-(?P<python_tag>cp\d+)-(?P<abi_tag>cp\d+)-(?P<platform>[A-Za-z0-9_]+)\.whl$"
)


@dataclass(frozen=True)
class WheelTags:
    version: str  # flash-attn version, e.g. "2.8.3"
    cuda_major: str  # "12"
    torch: str  # torch major.minor, e.g. "2.9"
    cxx11_abi: bool
    python: str  # "3.12"
    platform: str  # "linux_x86_64"


def parse_wheel_name(name: str) -> WheelTags:
    """Parse an upstream flash-attn release wheel file name (a URL or path is fine too)."""
    base = name.rsplit("/", 1)[-1].replace("%2B", "+").replace("%2b", "+")
    m = _WHEEL_RE.match(base)
    if not m:
        raise ValueError(
            f"not an upstream flash-attn release wheel name: {base!r} "
            "(expected flash_attn-<ver>+cu<N>torch<X.Y>cxx11abi<TRUE|FALSE>-cpXY-cpXY-<platform>.whl)"
        )
    py = m["python_tag"][2:]
    return WheelTags(
        version=m["version"],
        cuda_major=m["cuda"],
        torch=m["torch"],
        cxx11_abi=m["abi"] == "TRUE",
        python=f"{py[0]}.{py[1:]}",
        platform=m["platform"],
    )


def torch_requirement(pyproject: Path, extra: str = "cuda") -> str:
    """The torch requirement string of an optional-dependencies extra, e.g. 'torch==2.9.1'."""
    import tomllib

    data = tomllib.loads(Path(pyproject).read_text(encoding="utf-8"))
    reqs = data["project"]["optional-dependencies"][extra]
    found = [r for r in reqs if re.match(r"^torch\b(?![-_.\w])", r.strip())]
    if len(found) != 1:
        raise ValueError(f"expected exactly one torch requirement in extra {extra!r}, found {found!r}")
    return found[0].strip()


def torch_pin_version(requirement: str) -> str:
    m = re.fullmatch(r"torch\s*==\s*([0-9][0-9A-Za-z.+]*)", requirement.strip())
    if not m:
        raise ValueError(f"torch must be pinned with == in the cuda extra, got {requirement!r}")
    return m.group(1)


def _major_minor(version: str) -> str:
    return ".".join(version.split("+", 1)[0].split(".")[:2])


def observe() -> dict:
    """What this interpreter and its torch actually are."""
    import torch  # noqa: PLC0415  (heavy, only when checking a real environment)

    return {
        "python": f"{sys.version_info[0]}.{sys.version_info[1]}",
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,  # None on a CPU-only torch
        "cxx11_abi": bool(torch._C._GLIBCXX_USE_CXX11_ABI),
        "machine": platform.machine(),
        "image_cuda": os.environ.get("CUDA_VERSION"),  # set by the nvidia/cuda base images
    }


def check(tags: WheelTags, seen: dict, torch_pin: str | None = None) -> list[str]:
    """Every mismatch between the wheel's tags and the observed environment, as readable lines."""
    problems: list[str] = []
    if seen["python"] != tags.python:
        problems.append(f"Python is {seen['python']}, the wheel is built for Python {tags.python} (cp{tags.python.replace('.', '')}).")
    if _major_minor(seen["torch"]) != tags.torch:
        problems.append(f"torch is {seen['torch']}, the wheel is built for torch {tags.torch}.")
    if torch_pin is not None and _major_minor(torch_pin) != tags.torch:
        problems.append(f"pyproject.toml pins torch {torch_pin}, the wheel is built for torch {tags.torch}.")
    if not seen["torch_cuda"]:
        problems.append("torch has no CUDA support (torch.version.cuda is None): a CPU build was installed.")
    elif str(seen["torch_cuda"]).split(".")[0] != tags.cuda_major:
        problems.append(f"torch is built with CUDA {seen['torch_cuda']}, the wheel needs CUDA {tags.cuda_major}.x.")
    if seen.get("image_cuda") and str(seen["image_cuda"]).split(".")[0] != tags.cuda_major:
        problems.append(f"the base image has CUDA {seen['image_cuda']}, the wheel needs CUDA {tags.cuda_major}.x.")
    if bool(seen["cxx11_abi"]) != tags.cxx11_abi:
        problems.append(
            f"torch._C._GLIBCXX_USE_CXX11_ABI is {bool(seen['cxx11_abi'])}, the wheel is built with "
            f"cxx11abi{'TRUE' if tags.cxx11_abi else 'FALSE'}."
        )
    arch = tags.platform.split("_", 1)[-1]
    if seen.get("machine") and seen["machine"] != arch:
        problems.append(f"this machine is {seen['machine']}, the wheel is for {tags.platform}.")
    return problems


def check_installed() -> list[str]:
    """Import the compiled extension. A missing libcuda (no GPU at build time) is not an ABI error."""
    import torch  # noqa: F401, PLC0415  (loads libtorch first, as flash-attn expects)

    try:
        import flash_attn_2_cuda  # noqa: F401, PLC0415
    except ImportError as exc:
        msg = str(exc)
        if "undefined symbol" in msg or ("version" in msg and "not found" in msg):
            return [f"flash_attn_2_cuda does not link against this torch (ABI mismatch): {msg}"]
        if "libcuda" in msg:
            print(f"note: flash-attn import needs the GPU driver, checked at run time instead ({msg})")
            return []
        return [f"flash_attn_2_cuda failed to import: {msg}"]
    return []


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("wheel", nargs="?", help="flash-attn wheel file name or URL")
    ap.add_argument("--pyproject", type=Path, help="also check the torch pin of the `cuda` extra")
    ap.add_argument("--installed", action="store_true", help="import the installed extension")
    ap.add_argument("--print-torch-requirement", type=Path, metavar="PYPROJECT")
    args = ap.parse_args(argv)

    if args.print_torch_requirement:
        print(torch_requirement(args.print_torch_requirement))
        return 0
    if not args.wheel:
        ap.error("a wheel name is required")

    tags = parse_wheel_name(args.wheel)
    pin = torch_pin_version(torch_requirement(args.pyproject)) if args.pyproject else None
    seen = observe()
    problems = check(tags, seen, pin)
    if args.installed and not problems:
        problems = check_installed()
    print(
        "flash-attn wheel check: python {python}, torch {torch} (CUDA {torch_cuda}), "
        "cxx11 abi {cxx11_abi}, {machine}, image CUDA {image_cuda}".format(**seen)
    )
    if problems:
        print(f"ERROR: {args.wheel.rsplit('/', 1)[-1]} does not match this image:", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        print(
            "Pick the release wheel whose tags match (https://github.com/Dao-AILab/flash-attention/releases) "
            "or change the Python / torch pins. flash-attn is never compiled in this image.",
            file=sys.stderr,
        )
        return 1
    print(f"OK: {args.wheel.rsplit('/', 1)[-1]} matches.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
