"""Opening packages: directories, zips, and zips that try to do harm."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import struct
import warnings
import zipfile
from pathlib import Path

import pytest

from parsers.archive import Opened, open_package
from parsers.hashing import tree_sha256
from schemas.profile import Limits
from tests.ziptools import headers_of, patch_flags

LIMITS = Limits()


def codes(opened: Opened) -> list[str]:
    return [f.code for f in opened.findings]


def write_tree(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def make_zip(
    entries: list[tuple[str | zipfile.ZipInfo, bytes]], compression: int = zipfile.ZIP_DEFLATED
) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are written on purpose
        with zipfile.ZipFile(buf, "w", compression) as zf:
            for name, data in entries:
                zf.writestr(name, data)
    return buf.getvalue()


def snapshot(root: Path, exclude: Path) -> set[str]:
    return {
        str(p.relative_to(root))
        for p in root.rglob("*")
        if exclude not in p.parents and p != exclude
    }


# --------------------------------------------------------------------------- directories


def test_directory_package_used_in_place(tmp_path: Path) -> None:
    pkg = tmp_path / "LC-1"
    files = {"manifest.json": b"{}", "report.xlsx": b"x" * 10, "drawings/site.dxf": b"0\nEOF\n"}
    write_tree(pkg, files)
    opened = open_package(pkg, tmp_path / "work", LIMITS)
    assert opened.findings == []
    assert opened.root == pkg
    assert opened.kind == "dir"
    assert opened.files == {k: len(v) for k, v in files.items()}
    listing = "".join(f"{rel}\t{hashlib.sha256(files[rel]).hexdigest()}\n" for rel in sorted(files))
    assert opened.sha256 == hashlib.sha256(listing.encode("utf-8")).hexdigest()
    assert not (tmp_path / "work").exists()  # nothing extracted for a directory


def test_directory_with_single_top_folder(tmp_path: Path) -> None:
    write_tree(tmp_path / "outer" / "LC-1", {"manifest.json": b"{}", "drawings/site.dxf": b"x"})
    (tmp_path / "outer" / ".DS_Store").write_bytes(b"junk")
    opened = open_package(tmp_path / "outer", tmp_path / "work", LIMITS)
    assert opened.root == tmp_path / "outer" / "LC-1"
    assert set(opened.files) == {"manifest.json", "drawings/site.dxf"}


def test_directory_symlink_not_followed(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    write_tree(pkg, {"manifest.json": b"{}"})
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    os.symlink(secret, pkg / "attachments.txt")
    opened = open_package(pkg, tmp_path / "work", LIMITS)
    assert codes(opened) == ["PKG-006"]
    assert opened.findings[0].object.file == "attachments.txt"
    assert "attachments.txt" not in opened.files
    assert "attachments.txt" in opened.skipped


def _write_raw(folder: Path, name: bytes, data: bytes) -> None:
    """A file whose name is ``name``'s bytes, as a Windows tool copying to Linux leaves it."""
    path = os.path.join(bytes(folder), name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)


def test_directory_gbk_names_are_read_like_a_zips(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    write_tree(pkg, {"manifest.json": b"{}"})
    _write_raw(pkg / "attachments", "说明.txt".encode("gbk"), b"gbk")
    _write_raw(pkg, "附件".encode("gbk") + b"/" + "照片.jpg".encode("gbk"), b"jpg")
    opened = open_package(pkg, tmp_path / "work", LIMITS)
    assert opened.findings == []
    assert set(opened.files) == {"manifest.json", "attachments/说明.txt", "附件/照片.jpg"}
    path = opened.path("附件/照片.jpg")
    assert path is not None and path.read_bytes() == b"jpg"
    assert opened.hashes["attachments/说明.txt"] == hashlib.sha256(b"gbk").hexdigest()
    # the identity still hashes the names on disk, as the store does
    assert opened.sha256 == tree_sha256(pkg)


def test_directory_name_read_twice_is_refused(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    write_tree(pkg, {"manifest.json": b"{}", "attachments/说明.txt": b"utf-8"})
    _write_raw(pkg / "attachments", "说明.txt".encode("gbk"), b"gbk")
    opened = open_package(pkg, tmp_path / "work", LIMITS)
    assert codes(opened) == ["PKG-006"]
    assert opened.findings[0].object.file == "attachments/说明.txt"
    assert set(opened.files) == {"manifest.json", "attachments/说明.txt"}


def test_directory_undecodable_name_is_kept_as_listed(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    write_tree(pkg, {"manifest.json": b"{}"})
    _write_raw(pkg, b"\xff\xfe.txt", b"?")
    opened = open_package(pkg, tmp_path / "work", LIMITS)
    junk = os.fsdecode(b"\xff\xfe.txt")
    assert opened.findings == [] and set(opened.files) == {"manifest.json", junk}
    path = opened.path(junk)
    assert path is not None and path.read_bytes() == b"?"
    assert opened.sha256 == tree_sha256(pkg)


def test_truncated_directory_with_gbk_names_has_an_identity(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    write_tree(pkg, {"z/a.txt": b"a", "z/b.txt": b"b"})
    _write_raw(pkg, "说明.txt".encode("gbk"), b"x")  # read first: a file of the top folder
    opened = open_package(pkg, tmp_path / "work", Limits(max_entries=2))
    assert codes(opened) == ["PKG-007"] and opened.truncated
    assert set(opened.hashes) == {"说明.txt", "z/a.txt"}
    assert opened.sha256 is not None and len(opened.sha256) == 64


# --------------------------------------------------------------------------- zips


def test_zip_at_root(tmp_path: Path) -> None:
    data = make_zip([("manifest.json", b"{}"), ("drawings/site.dxf", b"abc"), ("drawings/", b"")])
    src = tmp_path / "pkg.zip"
    src.write_bytes(data)
    opened = open_package(src, tmp_path / "work", LIMITS)
    assert opened.findings == []
    assert opened.kind == "zip"
    assert opened.files == {"manifest.json": 2, "drawings/site.dxf": 3}
    assert opened.sha256 == hashlib.sha256(data).hexdigest()
    assert opened.root is not None and (tmp_path / "work") in opened.root.parents
    assert (opened.root / "drawings" / "site.dxf").read_bytes() == b"abc"
    assert opened.hashes["drawings/site.dxf"] == hashlib.sha256(b"abc").hexdigest()


def test_zip_detected_by_bytes_not_name(tmp_path: Path) -> None:
    src = tmp_path / "upload.bin"
    src.write_bytes(make_zip([("manifest.json", b"{}")]))
    opened = open_package(src, tmp_path / "work", LIMITS)
    assert opened.findings == [] and set(opened.files) == {"manifest.json"}


def test_zip_with_top_folder_is_stripped(tmp_path: Path) -> None:
    data = make_zip(
        [
            ("LC-KFQ-2022-0137/", b""),
            ("LC-KFQ-2022-0137/manifest.json", b"{}"),
            ("LC-KFQ-2022-0137/drawings/floors/0001.dxf", b"x"),
            ("__MACOSX/LC-KFQ-2022-0137/._manifest.json", b"junk"),
        ]
    )
    src = tmp_path / "pkg.zip"
    src.write_bytes(data)
    opened = open_package(src, tmp_path / "work", LIMITS)
    assert opened.findings == []
    assert set(opened.files) == {"manifest.json", "drawings/floors/0001.dxf"}


def test_zip_backslash_names(tmp_path: Path) -> None:
    src = tmp_path / "pkg.zip"
    src.write_bytes(make_zip([("LC\\manifest.json", b"{}"), ("LC\\drawings\\site.dxf", b"x")]))
    opened = open_package(src, tmp_path / "work", LIMITS)
    assert set(opened.files) == {"manifest.json", "drawings/site.dxf"}


def test_parent_entry_is_refused_and_nothing_written_outside(tmp_path: Path) -> None:
    work = tmp_path / "a" / "work"
    work.mkdir(parents=True)
    src = tmp_path / "pkg.zip"
    src.write_bytes(
        make_zip([("manifest.json", b"{}"), ("../evil", b"x"), ("drawings/../../evil2", b"y")])
    )
    before = snapshot(tmp_path, work)
    opened = open_package(src, work, LIMITS)
    assert snapshot(tmp_path, work) == before
    assert sorted(codes(opened)) == ["PKG-006", "PKG-006"]
    assert {f.object.file for f in opened.findings} == {"../evil", "drawings/../../evil2"}
    assert set(opened.files) == {"manifest.json"}
    assert not any(p.name.startswith("evil") for p in tmp_path.rglob("*"))


def test_absolute_and_drive_entries_are_refused(tmp_path: Path) -> None:
    target = tmp_path / "abs_evil"
    src = tmp_path / "pkg.zip"
    src.write_bytes(make_zip([(str(target), b"x"), ("C:/evil", b"y"), ("manifest.json", b"{}")]))
    opened = open_package(src, tmp_path / "work", LIMITS)
    assert codes(opened) == ["PKG-006", "PKG-006"]
    assert not target.exists()
    assert set(opened.files) == {"manifest.json"}


def test_symlink_and_device_entries_are_refused(tmp_path: Path) -> None:
    link = zipfile.ZipInfo("drawings/site.dxf")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    fifo = zipfile.ZipInfo("pipe")
    fifo.create_system = 3
    fifo.external_attr = (stat.S_IFIFO | 0o644) << 16
    src = tmp_path / "pkg.zip"
    src.write_bytes(make_zip([(link, b"/etc/passwd"), (fifo, b""), ("manifest.json", b"{}")]))
    opened = open_package(src, tmp_path / "work", LIMITS)
    assert codes(opened) == ["PKG-006", "PKG-006"]
    assert [f.object.file for f in opened.findings] == ["drawings/site.dxf", "pipe"]
    assert set(opened.files) == {"manifest.json"}
    assert "drawings/site.dxf" in opened.skipped  # present, so not "missing" later
    assert opened.root is not None and not (opened.root / "drawings" / "site.dxf").exists()


def test_duplicate_entry_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "pkg.zip"
    src.write_bytes(make_zip([("manifest.json", b"{}"), ("manifest.json", b"[]")]))
    opened = open_package(src, tmp_path / "work", LIMITS)
    assert codes(opened) == ["PKG-006"]
    assert opened.root is not None and (opened.root / "manifest.json").read_bytes() == b"{}"


def _extracted_bytes(work: Path) -> int:
    return sum(p.stat().st_size for p in work.rglob("*") if p.is_file())


def test_zip_bomb_over_ratio_and_total(tmp_path: Path) -> None:
    limits = Limits(max_ratio=100, max_total_bytes=10 << 20)
    src = tmp_path / "bomb.zip"
    src.write_bytes(
        make_zip([("manifest.json", b"{}"), ("attachments/zeros.bin", bytes(50 << 20))])
    )
    assert src.stat().st_size < 200_000
    work = tmp_path / "work"
    opened = open_package(src, work, limits)
    assert "PKG-007" in codes(opened)
    assert opened.truncated
    assert "attachments/zeros.bin" not in opened.files
    assert "attachments/zeros.bin" in opened.skipped
    assert _extracted_bytes(work) <= limits.max_total_bytes


def test_zip_bomb_with_lying_header_is_bounded(tmp_path: Path) -> None:
    limits = Limits(max_ratio=100, max_total_bytes=10 << 20, max_member_bytes=5 << 20)
    data = bytearray(make_zip([("zeros.bin", bytes(50 << 20))]))
    for local, central in headers_of(bytes(data), b"zeros.bin"):  # declare 1 000 bytes
        struct.pack_into("<L", data, local + 22, 1000)
        struct.pack_into("<L", data, central + 24, 1000)
    src = tmp_path / "bomb.zip"
    src.write_bytes(bytes(data))
    work = tmp_path / "work"
    opened = open_package(src, work, limits)
    assert set(codes(opened)) <= {"PKG-001", "PKG-007"} and opened.findings
    assert "zeros.bin" not in opened.files
    assert _extracted_bytes(work) <= limits.max_member_bytes


def test_too_many_entries(tmp_path: Path) -> None:
    src = tmp_path / "many.zip"
    src.write_bytes(make_zip([(f"attachments/{i}.txt", b"x") for i in range(30)]))
    opened = open_package(src, tmp_path / "work", Limits(max_entries=20))
    assert codes(opened) == ["PKG-007"]
    assert opened.root is None and opened.files == {}
    assert opened.sha256 is not None


def test_encrypted_entry(tmp_path: Path) -> None:
    data = make_zip([("manifest.json", b"{}"), ("report.xlsx", b"secret")], zipfile.ZIP_STORED)
    src = tmp_path / "pkg.zip"
    src.write_bytes(patch_flags(data, b"report.xlsx", 0x1))
    opened = open_package(src, tmp_path / "work", LIMITS)
    assert codes(opened) == ["PKG-001"]
    assert opened.findings[0].object.file == "report.xlsx"
    assert set(opened.files) == {"manifest.json"}
    assert "report.xlsx" in opened.skipped


def test_fully_encrypted_zip_is_one_finding(tmp_path: Path) -> None:
    data = make_zip([("manifest.json", b"{}"), ("report.xlsx", b"secret")], zipfile.ZIP_STORED)
    data = patch_flags(patch_flags(data, b"manifest.json", 0x1), b"report.xlsx", 0x1)
    src = tmp_path / "pkg.zip"
    src.write_bytes(data)
    opened = open_package(src, tmp_path / "work", LIMITS)
    assert codes(opened) == ["PKG-001"]
    assert opened.findings[0].object.file is None
    assert opened.root is None


@pytest.mark.parametrize(
    "content",
    [b"just some text, not a package", b"Rar!\x1a\x07\x00rest", b"PK\x03\x04" + b"\x00" * 100, b""],
    ids=["text", "rar", "corrupt-zip", "empty-file"],
)
def test_not_a_package(tmp_path: Path, content: bytes) -> None:
    src = tmp_path / "pkg.zip"
    src.write_bytes(content)
    opened = open_package(src, tmp_path / "work", LIMITS)
    assert codes(opened) == ["PKG-001"]
    assert opened.root is None


def test_missing_path(tmp_path: Path) -> None:
    opened = open_package(tmp_path / "nope.zip", tmp_path / "work", LIMITS)
    assert codes(opened) == ["PKG-001"]
    assert opened.root is None and opened.sha256 is None


def test_gbk_file_name_is_decoded(tmp_path: Path) -> None:
    name = "attachments/说明.txt"
    raw = name.encode("gbk")
    placeholder = "attachments/" + "X" * (len(raw) - len("attachments/"))
    data = make_zip([("manifest.json", b"{}"), (placeholder, b"gbk")])
    data = data.replace(placeholder.encode("ascii"), raw)  # a GBK name, UTF-8 flag unset
    src = tmp_path / "pkg.zip"
    src.write_bytes(data)
    opened = open_package(src, tmp_path / "work", LIMITS)
    assert opened.findings == []
    assert set(opened.files) == {"manifest.json", name}
    assert (
        opened.root is not None
        and (opened.root / "attachments" / "说明.txt").read_bytes() == b"gbk"
    )


def test_utf8_flagged_name_is_kept(tmp_path: Path) -> None:
    src = tmp_path / "pkg.zip"
    src.write_bytes(make_zip([("LC/drawings/floors/0001.dxf", b"x"), ("LC/附件/照片.txt", b"y")]))
    opened = open_package(src, tmp_path / "work", LIMITS)
    assert set(opened.files) == {"drawings/floors/0001.dxf", "附件/照片.txt"}


def test_empty_zip_is_usable_but_empty(tmp_path: Path) -> None:
    src = tmp_path / "pkg.zip"
    src.write_bytes(make_zip([]))
    opened = open_package(src, tmp_path / "work", LIMITS)
    assert opened.findings == [] and opened.files == {} and opened.root is not None


def test_stream_counter_stops_even_when_declared_sizes_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import parsers.archive as archive

    monkeypatch.setattr(archive, "_declared_limit", lambda entries, limits: None)
    limits = Limits(max_ratio=100, max_total_bytes=10 << 20)
    src = tmp_path / "bomb.zip"
    src.write_bytes(
        make_zip([("manifest.json", b"{}"), ("zeros.bin", bytes(50 << 20)), ("z.txt", b"z")])
    )
    work = tmp_path / "work"
    opened = open_package(src, work, limits)
    assert codes(opened) == ["PKG-007"]
    assert opened.findings[0].object.file == "zeros.bin"
    assert opened.truncated and {"zeros.bin", "z.txt"} <= opened.skipped
    assert set(opened.files) == {"manifest.json"}  # what was safe before the abort
    assert _extracted_bytes(work) <= 2 * archive.RATIO_FLOOR_BYTES


# --------------------------------------------------------------------------- names that cannot be stored (issue 14)


@pytest.mark.parametrize(
    ("name", "shown", "char"),
    [
        ("a\\b.txt", "a\\b.txt", "U+005C"),
        ("a\nb.txt", "a\\nb.txt", "U+000A"),
        ("a\rb.txt", "a\\rb.txt", "U+000D"),
    ],
)
def test_directory_name_that_cannot_be_stored_is_pkg006(
    tmp_path: Path, name: str, shown: str, char: str
) -> None:
    """A folder package's file named with ``\\``, a line feed or a carriage return: PKG-006 at
    check (the store could not publish it), the file skipped, never read."""
    pkg = tmp_path / "pkg"
    write_tree(pkg, {"manifest.json": b"{}", f"attachments/{name}": b"x"})
    opened = open_package(pkg, tmp_path / "work", LIMITS)
    assert [(f.code, f.object.file) for f in opened.findings] == [
        ("PKG-006", f"attachments/{shown}")
    ]
    assert char in opened.findings[0].message
    assert set(opened.files) == {"manifest.json"}
    assert f"attachments/{name}" in opened.skipped


def test_zip_name_with_a_line_feed_is_pkg006(tmp_path: Path) -> None:
    (tmp_path / "p.zip").write_bytes(
        make_zip([("manifest.json", b"{}"), ("attachments/a\nb.txt", b"x")])
    )
    opened = open_package(tmp_path / "p.zip", tmp_path / "work", LIMITS)
    assert [(f.code, f.object.file) for f in opened.findings] == [
        ("PKG-006", "attachments/a\\nb.txt")
    ]
    assert set(opened.files) == {"manifest.json"}


def test_directory_hard_link_is_refused_like_a_symlink(tmp_path: Path) -> None:
    """A hard link (st_nlink > 1) may share its bytes with any file outside the package
    (``/etc/passwd``): PKG-006, skipped, never read or hashed."""
    pkg = tmp_path / "pkg"
    write_tree(pkg, {"manifest.json": b"{}"})
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"secret\n")
    os.link(secret, pkg / "link.txt")
    opened = open_package(pkg, tmp_path / "work", LIMITS)
    assert [(f.code, f.object.file) for f in opened.findings] == [("PKG-006", "link.txt")]
    assert "硬链接" in opened.findings[0].message
    assert "link.txt" not in opened.files and "link.txt" in opened.skipped
    assert "link.txt" not in opened.hashes


def test_directory_path_over_max_path_bytes_is_pkg006(tmp_path: Path) -> None:
    """A file 6 folders of 200 characters deep (about 1 230 bytes, over the 1 000 of the
    limit): PKG-006 at check, not ENAMETOOLONG at submit."""
    pkg = tmp_path / "pkg"
    write_tree(pkg, {"manifest.json": b"{}"})
    folder = pkg / "attachments"
    for i in range(6):
        folder = folder / (f"{i}" + "d" * 199)
    folder.mkdir(parents=True)
    (folder / "x.txt").write_bytes(b"x")
    opened = open_package(pkg, tmp_path / "work", LIMITS)
    assert codes(opened) == ["PKG-006"]
    assert (opened.findings[0].object.file or "").startswith("attachments/0ddd")
    assert (
        "路径过长" in opened.findings[0].message and "上限 1000 字节" in opened.findings[0].message
    )
    assert set(opened.files) == {"manifest.json"}


@pytest.mark.parametrize(
    ("limits", "why"),
    [(Limits(max_name_bytes=40), "名称过长"), (Limits(max_path_bytes=40), "路径过长")],
)
def test_directory_name_or_path_over_the_profiles_bytes_is_pkg006(
    tmp_path: Path, limits: Limits, why: str
) -> None:
    """Counted in UTF-8 bytes (a Chinese character is three): 20 characters, 64 bytes."""
    name = "长名" * 10 + ".txt"
    pkg = tmp_path / "pkg"
    write_tree(pkg, {"manifest.json": b"{}", name: b"x"})
    opened = open_package(pkg, tmp_path / "work", limits)
    assert [(f.code, f.object.file) for f in opened.findings] == [("PKG-006", name)]
    assert f"{why}（64 字节，上限 40 字节）" in opened.findings[0].message
    assert set(opened.files) == {"manifest.json"}


def test_zip_name_over_name_max_is_pkg006(tmp_path: Path) -> None:
    """A zip entry named with 300 bytes: it could not be written on any file system."""
    long = "attachments/" + "n" * 300 + ".txt"
    (tmp_path / "p.zip").write_bytes(make_zip([("manifest.json", b"{}"), (long, b"x")]))
    opened = open_package(tmp_path / "p.zip", tmp_path / "work", LIMITS)
    assert codes(opened) == ["PKG-006"]
    assert (opened.findings[0].object.file or "").startswith("attachments/nnnn")
    assert "过长" in opened.findings[0].message
    assert set(opened.files) == {"manifest.json"}
    assert not any(len(p.name) > 255 for p in (tmp_path / "work").rglob("*"))
