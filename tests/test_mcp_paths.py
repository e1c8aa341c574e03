"""Unit tests of the MCP path-safety helper: only regular files inside the configured roots."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from serve_app.mcp_paths import PathRefused, open_regular_file, resolve_audio_path


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "a.wav").write_bytes(b"RIFF" + bytes(100))
    (root / "sub" / "b.wav").write_bytes(b"RIFF" + bytes(10))
    (root / "empty.wav").write_bytes(b"")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.wav").write_bytes(b"secret")
    (root / "link_out.wav").symlink_to(outside / "secret.wav")
    (root / "dir_out").symlink_to(outside, target_is_directory=True)
    (root / "link_in.wav").symlink_to(root / "sub" / "b.wav")
    (root / "broken.wav").symlink_to(root / "nope.wav")
    second = tmp_path / "second"
    second.mkdir()
    (second / "c.wav").write_bytes(b"RIFF")
    return {"root": root, "outside": outside, "second": second, "tmp": tmp_path}


def refused(raw, roots) -> PathRefused:
    with pytest.raises(PathRefused) as info:
        resolve_audio_path(raw, roots)
    assert info.value.message and str(info.value) == info.value.message
    return info.value


def test_relative_and_absolute_paths_inside_the_root(tree):
    root = tree["root"]
    assert resolve_audio_path("a.wav", [root]) == (root / "a.wav").resolve()
    assert resolve_audio_path("sub/b.wav", [root]) == (root / "sub" / "b.wav").resolve()
    assert resolve_audio_path("./sub//b.wav", [root]) == (root / "sub" / "b.wav").resolve()
    assert resolve_audio_path(str(root / "a.wav"), [root]) == (root / "a.wav").resolve()


def test_roots_given_as_strings_and_relative_roots(tree, monkeypatch):
    monkeypatch.chdir(tree["tmp"])
    assert resolve_audio_path("a.wav", ["./root"]) == (tree["root"] / "a.wav").resolve()


def test_several_roots_are_searched_in_order(tree):
    roots = [tree["root"], tree["second"]]
    assert resolve_audio_path("c.wav", roots) == (tree["second"] / "c.wav").resolve()
    assert resolve_audio_path(str(tree["second"] / "c.wav"), roots) == (tree["second"] / "c.wav").resolve()


def test_symlink_that_stays_inside_is_followed(tree):
    assert resolve_audio_path("link_in.wav", [tree["root"]]) == (tree["root"] / "sub" / "b.wav").resolve()


@pytest.mark.parametrize("raw", ["../outside/secret.wav", "sub/../a.wav", "..", "sub/../../outside/secret.wav"])
def test_parent_references_are_refused(tree, raw):
    error = refused(raw, [tree["root"]])
    assert error.reason == "parent_reference" and "'..'" in error.message


def test_absolute_path_with_dotdot_is_refused(tree):
    assert refused(str(tree["root"]) + "/../outside/secret.wav", [tree["root"]]).reason == "parent_reference"


@pytest.mark.parametrize("raw", ["/etc/passwd", "/"])
def test_absolute_path_outside_the_roots(tree, raw):
    error = refused(raw, [tree["root"]])
    assert error.reason == "outside_roots" and "outside" in error.message


def test_sibling_folder_with_a_common_prefix_is_outside(tree):
    twin = tree["tmp"] / "root2"
    twin.mkdir()
    (twin / "x.wav").write_bytes(b"x")
    assert refused(str(twin / "x.wav"), [tree["root"]]).reason == "outside_roots"


@pytest.mark.parametrize("raw", ["link_out.wav", "dir_out/secret.wav"])
def test_symlinks_leading_out_are_refused(tree, raw):
    error = refused(raw, [tree["root"]])
    assert error.reason == "symlink_outside" and "symbolic link" in error.message


def test_directory_is_refused(tree):
    assert refused("sub", [tree["root"]]).reason == "not_a_file"
    assert "directory" in refused(".", [tree["root"]]).message


def test_missing_and_broken_files(tree):
    error = refused("nope.wav", [tree["root"]])
    assert error.reason == "not_found" and "nope.wav" in error.message
    assert refused("broken.wav", [tree["root"]]).reason == "not_found"
    assert "broken" in refused("broken.wav", [tree["root"]]).message


def test_fifo_and_socket_are_not_files(tree):
    os.mkfifo(tree["root"] / "pipe.wav")
    assert refused("pipe.wav", [tree["root"]]).reason == "not_a_file"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tree["root"] / "s.sock"))
        assert refused("s.sock", [tree["root"]]).reason == "not_a_file"


@pytest.mark.parametrize("raw,reason", [("", "empty_path"), ("   ", "empty_path"), ("a\x00.wav", "invalid_path")])
def test_empty_and_invalid_paths(tree, raw, reason):
    assert refused(raw, [tree["root"]]).reason == reason


def test_no_usable_root(tree):
    error = refused("a.wav", [tree["tmp"] / "does-not-exist"])
    assert error.reason == "no_roots" and "audio_base64" in error.message
    assert refused("a.wav", []).reason == "no_roots"
    assert refused("a.wav", [tree["root"] / "a.wav"]).reason == "no_roots"  # a file is not a root


def test_root_that_is_itself_a_symlink(tree):
    alias = tree["tmp"] / "alias"
    alias.symlink_to(tree["root"], target_is_directory=True)
    real = (tree["root"] / "a.wav").resolve()
    assert resolve_audio_path("a.wav", [alias]) == real
    assert resolve_audio_path(str(alias / "a.wav"), [alias]) == real
    assert refused("link_out.wav", [alias]).reason == "symlink_outside"


def test_open_regular_file_reads_and_checks(tree):
    path = resolve_audio_path("a.wav", [tree["root"]])
    with open_regular_file(path, max_bytes=1000) as handle:
        assert handle.read() == b"RIFF" + bytes(100)


def test_open_refuses_too_large_and_empty(tree):
    path = resolve_audio_path("a.wav", [tree["root"]])
    with pytest.raises(PathRefused) as info:
        open_regular_file(path, max_bytes=50)
    assert info.value.reason == "file_too_large" and "limit" in info.value.message
    with pytest.raises(PathRefused) as info:
        open_regular_file(resolve_audio_path("empty.wav", [tree["root"]]), max_bytes=50)
    assert info.value.reason == "empty_file"


def test_open_refuses_a_file_swapped_for_a_symlink(tree):
    path = resolve_audio_path("a.wav", [tree["root"]])
    path.unlink()
    path.symlink_to(tree["outside"] / "secret.wav")
    with pytest.raises(PathRefused) as info:
        open_regular_file(path, max_bytes=1000)
    assert info.value.reason == "unreadable"


def test_open_does_not_block_on_a_pipe(tree):
    fifo = tree["root"] / "late.wav"
    os.mkfifo(fifo)
    with pytest.raises(PathRefused) as info:
        open_regular_file(fifo, max_bytes=1000)
    assert info.value.reason == "not_a_file"
