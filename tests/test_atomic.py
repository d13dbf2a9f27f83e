"""Never overwrite an input, never leave a half-written file (issue 7)."""

from __future__ import annotations

import csv
import os
import stat
from pathlib import Path

import pytest

from jinhua_subsidy.atomic import atomic_output, same_file


class Boom(Exception):
    pass


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# --- atomic_output ----------------------------------------------------------------------------


def test_success_replaces_the_file(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old\n", encoding="utf-8")
    with atomic_output(target) as f:
        f.write("新的\n")
        assert target.read_text(encoding="utf-8") == "old\n"  # nothing shows before the end
    assert target.read_text(encoding="utf-8") == "新的\n"
    assert leftovers(tmp_path) == []


def test_success_creates_a_new_file(tmp_path):
    target = tmp_path / "new.csv"
    with atomic_output(str(target)) as f:
        f.write("a")
    assert target.read_bytes() == b"a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.csv"]


def test_an_exception_mid_write_leaves_the_old_content_and_no_temporary_file(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old\n", encoding="utf-8")
    with pytest.raises(Boom), atomic_output(target) as f:
        f.write("half")
        f.flush()
        assert len(leftovers(tmp_path)) == 1  # the content goes to a temporary file beside it
        raise Boom
    assert target.read_text(encoding="utf-8") == "old\n"
    assert leftovers(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_an_exception_when_there_was_no_file_leaves_none(tmp_path):
    target = tmp_path / "out.csv"
    with pytest.raises(KeyboardInterrupt), atomic_output(target, "wb") as f:
        f.write(b"half")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_text_mode_keeps_line_ends_as_written_and_encodes_utf8(tmp_path):
    target = tmp_path / "out.csv"
    with atomic_output(target) as f:
        csv.writer(f).writerow(["第1行", "a\nb"])
    assert target.read_bytes() == '第1行,"a\nb"\r\n'.encode()


def test_binary_mode_and_another_encoding(tmp_path):
    with atomic_output(tmp_path / "b", "wb") as f:
        f.write(b"\x00\xff")
    assert (tmp_path / "b").read_bytes() == b"\x00\xff"
    with atomic_output(tmp_path / "t", encoding="gb18030", newline=None) as f:
        f.write("金华\n")
    assert (tmp_path / "t").read_bytes() == "金华\n".encode("gb18030").replace(b"\n", os.linesep.encode())


def test_a_new_file_gets_the_permissions_a_plain_open_gives(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_output(tmp_path / "a") as f:
            f.write("a")
        with open(tmp_path / "plain", "w") as f:
            f.write("a")
        os.umask(0o077)
        with atomic_output(tmp_path / "b") as f:
            f.write("b")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "plain").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "b").stat().st_mode) == 0o600


def test_a_replaced_file_keeps_its_mode(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o640)
    with atomic_output(target) as f:
        f.write("new")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_a_symlink_is_followed_and_kept(tmp_path):
    real = tmp_path / "real.csv"
    real.write_text("old", encoding="utf-8")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    with atomic_output(link) as f:
        f.write("new")
    assert link.is_symlink()
    assert real.read_text(encoding="utf-8") == "new"


def test_a_folder_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(IsADirectoryError), atomic_output(tmp_path) as f:
        f.write("x")  # pragma: no cover - never reached
    assert list(tmp_path.iterdir()) == []


def test_a_missing_folder_is_an_error_as_for_a_plain_open(tmp_path):
    with pytest.raises(FileNotFoundError), atomic_output(tmp_path / "no" / "out.csv"):
        pass  # pragma: no cover - never reached


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX")
def test_a_device_or_fifo_is_written_directly_never_replaced(tmp_path):
    with atomic_output("/dev/null") as f:
        f.write("gone")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        with atomic_output(fifo) as f:
            f.write("through")
        assert os.read(fd, 100) == b"through"
    finally:
        os.close(fd)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert leftovers(tmp_path) == []


def test_only_w_and_wb(tmp_path):
    with pytest.raises(ValueError, match="mode must be 'w' or 'wb', not 'a'"):
        atomic_output(tmp_path / "x", "a")  # type: ignore[call-overload]


# --- same_file --------------------------------------------------------------------------------


def test_same_file_on_a_hard_link(tmp_path):
    a = tmp_path / "claims.csv"
    a.write_text("x", encoding="utf-8")
    b = tmp_path / "other-name.csv"
    os.link(a, b)
    assert same_file(a, b)
    c = tmp_path / "copy.csv"
    c.write_text("x", encoding="utf-8")
    assert not same_file(a, c)


def test_same_file_on_different_spellings_of_one_path(tmp_path, monkeypatch):
    (tmp_path / "d").mkdir()
    a = tmp_path / "claims.csv"
    a.write_text("x", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert same_file("claims.csv", a)
    assert same_file("./claims.csv", "d/../claims.csv")
    assert same_file(str(tmp_path) + "//claims.csv", Path("d", "..", "claims.csv"))
    (tmp_path / "link.csv").symlink_to(a)
    assert same_file("link.csv", "claims.csv")


def test_same_file_when_a_path_does_not_exist(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d").mkdir()
    (tmp_path / "exists.csv").write_text("x", encoding="utf-8")
    assert same_file("missing.csv", "./d/../missing.csv")  # one path, spelled twice
    assert not same_file("missing.csv", "other.csv")
    assert not same_file("missing.csv", "exists.csv")
    assert not same_file("exists.csv", "missing.csv")
