"""Which local files the MCP server may read: only regular files inside the configured roots.

`resolve_audio_path(raw, roots)` turns an agent's `audio_path` into the real path of a regular
file that lies inside one of the roots, or raises `PathRefused` with a reason code and a
message that says why. A relative path is looked up under each root in order; an absolute
path must name a place inside a root. `..` is refused outright, symbolic links are followed
and the target must still lie inside a root, and directories, devices, pipes, sockets and
missing or broken paths are refused.

`open_regular_file(path, max_bytes)` then opens it without following a link that appeared in
the meantime, without blocking on a pipe, and checks the open file itself (regular, not empty,
not over the size limit) before a byte is read.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path, PurePath
from typing import BinaryIO

from serve_app.errors import echo


class PathRefused(ValueError):
    """An audio path the MCP server will not read; `reason` is a stable code, `str()` the why."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def _describe(roots: Sequence[Path]) -> str:
    return ", ".join(str(r) for r in roots) or "(none)"


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or path.is_relative_to(folder)


def usable_roots(roots: Sequence[Path | str]) -> list[tuple[Path, Path]]:
    """(absolute root as configured, root with links resolved) for each root that is a directory."""
    out: list[tuple[Path, Path]] = []
    for root in roots:
        configured = Path(os.path.abspath(os.path.expanduser(str(root))))
        try:
            real = configured.resolve(strict=True)
        except (OSError, RuntimeError):
            continue
        if real.is_dir():
            out.append((configured, real))
    return out


def resolve_audio_path(raw: str, roots: Sequence[Path | str]) -> Path:
    """The real path of the regular file `raw` names inside `roots`, or `PathRefused`."""
    if not isinstance(raw, str) or not raw.strip():
        raise PathRefused("empty_path", "audio_path is empty: give a file name inside the audio folders.")
    if "\x00" in raw:
        raise PathRefused("invalid_path", "audio_path contains a NUL character.")
    shown = [Path(str(r)) for r in roots]
    usable = usable_roots(roots)
    if not usable:
        raise PathRefused(
            "no_roots",
            f"No audio folder is available to the MCP server (configured: {_describe(shown)}); "
            "send the audio as audio_base64 instead, or set QWEN_ASR_MCP_AUDIO_ROOTS.",
        )
    if ".." in PurePath(raw).parts:
        raise PathRefused(
            "parent_reference",
            f"'..' is not allowed in audio_path ({echo(raw)}); give a path inside the audio folders: {_describe(shown)}.",
        )

    requested = Path(raw)
    if requested.is_absolute():
        normal = Path(os.path.normpath(raw))
        owners = [(c, r) for c, r in usable if _inside(normal, c) or _inside(normal, r)]
        if not owners:
            raise PathRefused(
                "outside_roots",
                f"{echo(raw)} is outside the audio folders the MCP server may read: {_describe(shown)}.",
            )
        candidates = [normal]
    else:
        candidates = [Path(os.path.normpath(configured / requested)) for configured, _ in usable]

    for candidate in candidates:
        if not os.path.lexists(candidate):
            continue
        try:
            real = candidate.resolve(strict=True)
        except FileNotFoundError:
            raise PathRefused("not_found", f"{echo(raw)} is a broken symbolic link.") from None
        except (OSError, RuntimeError) as exc:
            raise PathRefused("unreadable", f"{echo(raw)} cannot be resolved: {exc.strerror or exc}.") from None
        if not any(_inside(real, r) for _, r in usable):
            raise PathRefused(
                "symlink_outside",
                f"{echo(raw)} is (or passes through) a symbolic link that leads outside the audio folders.",
            )
        try:
            mode = real.stat().st_mode
        except OSError as exc:
            raise PathRefused("unreadable", f"{echo(raw)} cannot be read: {exc.strerror or exc}.") from None
        if stat.S_ISDIR(mode):
            raise PathRefused("not_a_file", f"{echo(raw)} is a directory, not an audio file.")
        if not stat.S_ISREG(mode):
            raise PathRefused("not_a_file", f"{echo(raw)} is not a regular file (device, pipe or socket).")
        return real

    raise PathRefused("not_found", f"No file {echo(raw)} in the audio folders: {_describe(shown)}.")


def open_regular_file(path: Path, max_bytes: int) -> BinaryIO:
    """Open a path `resolve_audio_path` returned, checking the opened file itself.

    Raises `PathRefused` when it changed into something else, is empty or is over `max_bytes`.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise PathRefused("unreadable", f"{path.name!r} cannot be opened: {exc.strerror or exc}.") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise PathRefused("not_a_file", f"{path.name!r} is not a regular file.")
        if info.st_size == 0:
            raise PathRefused("empty_file", f"{path.name!r} is empty.")
        if info.st_size > max_bytes:
            raise PathRefused(
                "file_too_large",
                f"{path.name!r} is {info.st_size / (1024 * 1024):.1f} MB; the limit is "
                f"{max_bytes / (1024 * 1024):g} MB.",
            )
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
