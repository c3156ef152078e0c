"""Open a package safely: a directory used in place, or a zip extracted under limits.

A package (deliverable.md) is a directory or a ``.zip`` of it, with its files at the root
or inside one top folder ``<project_id>/…``. :func:`open_package` turns either into an
:class:`Opened`: the folder holding the files, the files present with their sizes and
sha256, a checksum of the whole package, and the findings of opening it (PKG-001,
PKG-006, PKG-007). It never raises for bad input and never writes outside ``workdir``.

Decisions
---------
* Operating-system litter (``__MACOSX/``, ``.DS_Store``, ``Thumbs.db``, ``desktop.ini``)
  is ignored: it is neither extracted nor listed, so it raises no PKG-005.
* A backslash in a zip entry name is read as a path separator (older Windows tools
  write them); the name is then judged like any other.
* Names without the UTF-8 flag are decoded from their raw bytes as: the Info-ZIP Unicode
  Path extra field when present and matching, else UTF-8, else GBK, else cp437.
* A folder's file names that are not UTF-8 bytes (a Windows tool copying GBK names to a
  Linux share) are read the same way, UTF-8 else GBK (:func:`schemas.file_names.decode_name`,
  one reading for both), so that they are matched under the names findings show; bytes
  that are neither stay as listed (surrogate-escaped). :meth:`Opened.path` finds the file
  under its name on disk, and the package's identity still hashes the names on disk.
  Two files whose names read the same (one UTF-8, one GBK) are PKG-006 but the first.
* A duplicated entry name is unsafe (two contents for one path): the first is kept, the
  others are PKG-006.
* The compression-ratio limit is applied only once an entry (or the whole extract) is
  larger than :data:`RATIO_FLOOR_BYTES`: small files legitimately compress far.
* Files that exist in the package but were not made available (encrypted, corrupt, not
  reached after a PKG-007 abort, a link) are named in :attr:`Opened.skipped`, so that later
  stages do not report them again as missing (PKG-003, PKG-008).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from parsers.hashing import file_sha256 as sha256_file
from parsers.hashing import listing_sha256, tree_sha256
from schemas.catalogue import make
from schemas.file_names import decode_name, readable_name, unsafe_char
from schemas.findings import Finding, Place
from schemas.profile import Limits

CHUNK = 1 << 16
RATIO_FLOOR_BYTES = 1 << 20  # ratios of smaller amounts say nothing about a bomb
JUNK_NAMES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
JUNK_DIRS = frozenset({"__MACOSX"})
MANIFEST = "manifest.json"
PACKAGE_FOLDERS = frozenset({"drawings", "report", "attachments"})

_DRIVE = re.compile(r"^[A-Za-z]:")
_UNICODE_PATH_EXTRA = 0x7075

# Magic bytes of archive formats that are not accepted (reason for PKG-001).
_OTHER_ARCHIVES = (
    (b"Rar!\x1a\x07", "RAR"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
)

# Reasons are template parameters of the catalogue's PKG-001 / PKG-006 / PKG-007 texts.
_R = {
    "missing": "路径不存在：{path}",
    "not_package": "不是目录或 zip 压缩包",
    "other_archive": "是 {fmt} 压缩包，只接受 zip",
    "corrupt": "zip 压缩包已损坏（{error}）",
    "unreadable": "无法读取（{error}）",
    "encrypted": "压缩包已加密",
    "entry_encrypted": "条目 {path} 已加密，无法读取",
    "entry_corrupt": "条目 {path} 已损坏（{error}）",
    "entry_unwritable": "条目 {path} 无法解压（{error}）",
    "file_unreadable": "文件 {path} 无法读取（{error}）",
    "workdir": "无法在工作目录中解压（{error}）",
    "absolute": "绝对路径",
    "drive": "带盘符的路径",
    "parent": "含上级目录 ..",
    "link": "链接",
    "device": "设备文件",
    "fifo": "管道文件",
    "socket": "套接字文件",
    "duplicate": "重复的条目名",
    "same_name": "文件名解码后与另一文件相同",
    "conflict": "与其他条目的路径冲突",
    "bad_name": "文件名无效",
    "hard_link": "硬链接（与包外文件共用内容）",
    "outside": "位于成果包之外（挂载的其他文件系统）",
    "unsafe_char": "名称含无法保存或发布的字符 {char}（控制字符、双向文字控制符或 \\ : * ? \" < > |）",
    "long_path": "路径过长（{size} 字节，上限 {limit} 字节）",
    "long_name": "名称过长（{size} 字节，上限 {limit} 字节）",
    "entries": "条目数 {count} 超过上限 {limit}",
    "entries_over": "文件数超过上限 {limit}",
    "total": "解压后总大小超过上限 {limit} 字节",
    "member": "条目 {path} 解压后大小超过上限 {limit} 字节",
    "ratio": "条目 {path} 的压缩比超过上限 {limit}",
    "total_ratio": "整个压缩包的压缩比超过上限 {limit}",
}


@dataclass
class Opened:
    """A package opened for reading.

    Attributes
    ----------
    root
        The folder holding the package's files (the directory itself, its single top
        folder, or the extraction folder), or None when nothing is usable.
    files
        Package-relative path (``/`` separators) -> size in bytes, regular files only.
    sha256
        Of the zip bytes (of any regular file given), or of the canonical listing of a
        directory: sorted ``"relpath\\tsha256\\n"`` lines, UTF-8. None if unreadable.
    findings
        PKG-001 / PKG-006 / PKG-007 findings of opening.
    kind
        ``"dir"``, ``"zip"`` or None.
    hashes
        Package-relative path -> sha256 of the files in ``files`` (computed while
        listing or extracting, so the manifest check need not read them again).
    skipped
        Package-relative paths present in the package but not made available (already
        reported by PKG-001 / PKG-006 / PKG-007).
    truncated
        True when extraction was aborted on a limit (PKG-007).
    disk_names
        Package-relative path -> its path under ``root`` where the two differ: a folder's
        file names stored as GBK bytes, listed under their decoded names.
    limits
        The limits it was opened under; they also bound what is inflated from inside its
        files (the parts of report.xlsx, :mod:`parsers.report`).
    """

    root: Path | None
    files: dict[str, int] = field(default_factory=dict)
    sha256: str | None = None
    findings: list[Finding] = field(default_factory=list)
    kind: str | None = None
    hashes: dict[str, str] = field(default_factory=dict)
    skipped: set[str] = field(default_factory=set)
    truncated: bool = False
    disk_names: dict[str, str] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)

    def path(self, relpath: str) -> Path | None:
        """The file system path of a package-relative path, or None without a root."""
        if self.root is None:
            return None
        return self.root.joinpath(*self.disk_names.get(relpath, relpath).split("/"))


class _LimitExceeded(Exception):
    """Internal: stop extraction on a PKG-007 limit."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def open_package(source: Path, workdir: Path, limits: Limits) -> Opened:
    """Open a package directory or zip.

    Parameters
    ----------
    source
        A package directory or a zip file (detected by its bytes, not its name).
    workdir
        Where a zip is extracted (a fresh sub-folder is made in it). Nothing is ever
        written outside it. Unused for a directory.
    limits
        Entry count, total and per-entry size and compression ratio limits (PKG-007).

    Returns
    -------
    Opened
        Never raises for bad input: damage becomes findings.
    """
    source = Path(source)
    try:
        if source.is_dir():
            opened = _open_directory(source, limits)
        elif not source.exists():
            opened = _failed(_R["missing"].format(path=source.name or str(source)))
        elif not source.is_file():
            opened = _failed(_R["not_package"])
        else:
            opened = _open_file(source, Path(workdir), limits)
    except Exception as exc:  # a parser never stops the run
        opened = _failed(_R["unreadable"].format(error=_describe(exc)))
    opened.limits = limits
    return opened


# --------------------------------------------------------------------------- directory


def _open_directory(source: Path, limits: Limits) -> Opened:
    root = _single_top_folder(source)
    out = Opened(root=root, kind="dir")
    total = 0
    count = 0
    for rel, entry in _walk(root, out, limits):
        if out.truncated:  # over a limit: list the rest as not made available, read nothing
            out.skipped.add(rel)
            continue
        count += 1
        size = entry.stat(follow_symlinks=False).st_size
        total += size
        reason = None
        if count > limits.max_entries:
            reason = _R["entries_over"].format(limit=limits.max_entries)
        elif size > limits.max_member_bytes:
            reason = _R["member"].format(path=rel, limit=limits.max_member_bytes)
        elif total > limits.max_total_bytes:
            reason = _R["total"].format(limit=limits.max_total_bytes)
        if reason is not None:
            out.findings.append(make("PKG-007", Place(), reason=reason))
            out.truncated = True
            out.skipped.add(rel)
            continue
        try:
            out.hashes[rel] = sha256_file(Path(entry.path))
        except OSError as exc:
            out.findings.append(
                make(
                    "PKG-001",
                    Place(file=rel),
                    reason=_R["file_unreadable"].format(path=rel, error=_describe(exc)),
                )
            )
            out.skipped.add(rel)
            continue
        out.files[rel] = size
    # the identity hashes the names on disk (parsers.hashing), not the decoded ones
    if out.truncated:
        # over the limits the rest is never read, so the identity covers what was read
        out.sha256 = listing_sha256(
            (out.disk_names.get(rel, rel), h) for rel, h in out.hashes.items()
        )
        return out
    # the package's identity is that of the folder as given, as the store keeps it
    known = {str(out.path(rel)): h for rel, h in out.hashes.items()}
    out.sha256 = tree_sha256(source, known)
    return out


def _single_top_folder(source: Path) -> Path:
    """The directory, or its only sub-folder when it holds nothing else but litter."""
    try:
        entries = [e for e in os.scandir(source) if not _is_junk(e.name)]
    except OSError:
        return source
    if (
        len(entries) == 1
        and entries[0].is_dir(follow_symlinks=False)
        and entries[0].name not in PACKAGE_FOLDERS
    ):
        return Path(entries[0].path)
    return source


def name_problem(rel: str, limits: Limits) -> str | None:
    """Why a package-relative path cannot be stored or published (a PKG-006 reason): a
    name holding a character :func:`schemas.file_names.unsafe_char` refuses (``\\``, a
    line break, a control or bidirectional character …), a name longer than
    ``max_name_bytes`` or a path longer than ``max_path_bytes`` (UTF-8 bytes)."""
    bad = next((c for c in rel if c != "/" and unsafe_char(c)), None)
    if bad is not None:
        return _R["unsafe_char"].format(char=f"U+{ord(bad):04X}")
    size = len(rel.encode("utf-8", "surrogateescape"))
    if size > limits.max_path_bytes:
        return _R["long_path"].format(size=size, limit=limits.max_path_bytes)
    longest = max((len(p.encode("utf-8", "surrogateescape")) for p in rel.split("/")), default=0)
    if longest > limits.max_name_bytes:
        return _R["long_name"].format(size=longest, limit=limits.max_name_bytes)
    return None


def _shown(rel: str) -> str:
    """A path fit to print in a finding: at most 300 characters, line breaks escaped."""
    text = rel if len(rel) <= 300 else rel[:150] + "…" + rel[-150:]
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def _walk(root: Path, out: Opened, limits: Limits) -> Iterable[tuple[str, os.DirEntry]]:
    """Regular files under ``root`` (sorted, links not followed); others become PKG-006.

    Paths are package-relative, each name read by :func:`readable_name`; the paths whose
    names on disk differ go into ``out.disk_names``. A file whose path reads the same as
    one already listed is PKG-006, and so is a hard link (a file with more than one link
    may be a file outside the package), a file on another file system (a mount inside
    the folder) and a name that cannot be stored or published (:func:`name_problem`).
    """
    try:
        device = os.stat(root).st_dev
    except OSError:
        device = None
    stack: list[tuple[str, str, str]] = [(str(root), "", "")]
    listed: set[str] = set()
    while stack:
        folder, prefix, disk_prefix = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            out.findings.append(
                make(
                    "PKG-001",
                    Place(file=prefix.rstrip("/") or None),
                    reason=_R["unreadable"].format(error=_describe(exc)),
                )
            )
            continue
        subdirs = []
        for e in entries:
            if _is_junk(e.name):
                continue
            rel = prefix + (readable_name(e.name) or e.name)
            disk_rel = disk_prefix + e.name
            problem = name_problem(rel, limits)
            if problem is not None:
                shown = _shown(rel)
                out.findings.append(make("PKG-006", Place(file=shown), path=shown, reason=problem))
                out.skipped.add(rel)
                continue
            if e.is_symlink():
                out.findings.append(make("PKG-006", Place(file=rel), path=rel, reason=_R["link"]))
                out.skipped.add(rel)
            elif device is not None and _outside(e, device):
                out.findings.append(make("PKG-006", Place(file=rel), path=rel, reason=_R["outside"]))
                out.skipped.add(rel)
            elif e.is_dir(follow_symlinks=False):
                subdirs.append((e.path, rel + "/", disk_rel + "/"))
            elif e.is_file(follow_symlinks=False) and e.stat(follow_symlinks=False).st_nlink > 1:
                out.findings.append(make("PKG-006", Place(file=rel), path=rel, reason=_R["hard_link"]))
                out.skipped.add(rel)
            elif e.is_file(follow_symlinks=False):
                if rel in listed:
                    out.findings.append(
                        make("PKG-006", Place(file=rel), path=rel, reason=_R["same_name"])
                    )
                    continue
                listed.add(rel)
                if rel != disk_rel:
                    out.disk_names[rel] = disk_rel
                yield rel, e
            else:
                reason = _special_reason(e.stat(follow_symlinks=False).st_mode)
                out.findings.append(make("PKG-006", Place(file=rel), path=rel, reason=reason))
                out.skipped.add(rel)
        stack.extend(reversed(subdirs))


def _outside(entry: os.DirEntry, device: int) -> bool:
    """Whether an entry lies on another file system than the package's folder."""
    try:
        return entry.stat(follow_symlinks=False).st_dev != device
    except OSError:
        return False


# --------------------------------------------------------------------------- zip


def _open_file(source: Path, workdir: Path, limits: Limits) -> Opened:
    try:
        with source.open("rb") as fh:
            head = fh.read(8)
        digest = sha256_file(source)
    except OSError as exc:
        return _failed(_R["unreadable"].format(error=_describe(exc)))
    if not (head.startswith(b"PK") or zipfile.is_zipfile(source)):
        fmt = next((name for magic, name in _OTHER_ARCHIVES if head.startswith(magic)), None)
        reason = _R["other_archive"].format(fmt=fmt) if fmt else _R["not_package"]
        return _failed(reason, sha256=digest)
    try:
        zf = zipfile.ZipFile(source)
    except (
        zipfile.BadZipFile,
        NotImplementedError,
        UnicodeDecodeError,
        ValueError,
        OSError,
        EOFError,
    ) as exc:
        return _failed(_R["corrupt"].format(error=_describe(exc)), sha256=digest)
    with zf:
        out = _extract(zf, workdir, limits)
    out.sha256 = digest
    return out


@dataclass
class _Entry:
    info: zipfile.ZipInfo
    rel: str  # package-relative, before the top folder is stripped


def _extract(zf: zipfile.ZipFile, workdir: Path, limits: Limits) -> Opened:
    out = Opened(root=None, kind="zip")
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        out.findings.append(
            make(
                "PKG-007",
                Place(),
                reason=_R["entries"].format(count=len(infos), limit=limits.max_entries),
            )
        )
        out.truncated = True
        return out

    entries = _safe_entries(infos, out, limits)
    encrypted = [e for e in entries if e.info.flag_bits & 0x1]
    if entries and len(encrypted) == len(entries):
        out.findings.append(make("PKG-001", Place(), reason=_R["encrypted"]))
        return out

    strip = _top_folder([e.rel for e in entries])
    for e in entries:
        e.rel = e.rel[len(strip) :] if strip else e.rel

    declared = _declared_limit(entries, limits)
    if declared:
        out.findings.append(make("PKG-007", Place(), reason=declared))
        out.truncated = True
        out.skipped.update(e.rel for e in entries)
        return out

    try:
        workdir.mkdir(parents=True, exist_ok=True)
        dest = Path(tempfile.mkdtemp(prefix="package-", dir=workdir))
    except OSError as exc:
        out.findings.append(
            make("PKG-001", Place(), reason=_R["workdir"].format(error=_describe(exc)))
        )
        return out
    out.root = dest

    budget = _Budget(limits)
    for i, e in enumerate(entries):
        if e.info.flag_bits & 0x1:
            out.findings.append(
                make("PKG-001", Place(file=e.rel), reason=_R["entry_encrypted"].format(path=e.rel))
            )
            out.skipped.add(e.rel)
            continue
        target = dest.joinpath(*e.rel.split("/"))
        try:
            if not _inside(dest, target):  # defence in depth: names were already judged
                raise OSError("outside")
            size, digest = _copy_entry(zf, e, target, budget)
        except _LimitExceeded as exc:
            out.findings.append(make("PKG-007", Place(file=e.rel), reason=exc.reason))
            out.truncated = True
            out.skipped.update(x.rel for x in entries[i:])
            break
        except (
            zipfile.BadZipFile,
            zlib.error,
            EOFError,
            NotImplementedError,
            RuntimeError,
            ValueError,
        ) as exc:
            out.findings.append(
                make(
                    "PKG-001",
                    Place(file=e.rel),
                    reason=_R["entry_corrupt"].format(path=e.rel, error=_describe(exc)),
                )
            )
            out.skipped.add(e.rel)
            continue
        except OSError as exc:
            out.findings.append(
                make(
                    "PKG-001",
                    Place(file=e.rel),
                    reason=_R["entry_unwritable"].format(path=e.rel, error=_describe(exc)),
                )
            )
            out.skipped.add(e.rel)
            continue
        out.files[e.rel] = size
        out.hashes[e.rel] = digest
    return out


def _safe_entries(infos: list[zipfile.ZipInfo], out: Opened, limits: Limits) -> list[_Entry]:
    """File entries with safe, decoded, normalised names; the rest become PKG-006."""
    safe: list[_Entry] = []
    seen: set[str] = set()  # file paths kept
    folders: set[str] = set()  # every parent folder of a kept file
    for info in infos:
        name = _decoded_name(info)
        mode = info.external_attr >> 16
        raw_parts = name.replace("\\", "/").split("/")
        parts = [p for p in raw_parts if p not in ("", ".")]
        rel = "/".join(parts)
        reason = _unsafe_path(name, raw_parts) or (name_problem(rel, limits) if rel else None)
        if reason is not None and "\x00" not in name:
            name = _shown(name)  # escapes only what cannot be printed
        if reason is None and mode and stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
            reason = _special_reason(mode)
            if rel:
                out.skipped.add(rel)  # a safe name that is not a regular file
        if reason is not None:
            out.findings.append(make("PKG-006", Place(file=name), path=name, reason=reason))
            continue
        if not parts or any(p in JUNK_DIRS for p in parts) or parts[-1] in JUNK_NAMES:
            continue
        if info.is_dir() or name.endswith(("/", "\\")) or (mode and stat.S_ISDIR(mode)):
            continue  # directory entries are not files
        if rel in seen:
            out.findings.append(make("PKG-006", Place(file=rel), path=name, reason=_R["duplicate"]))
            continue
        parents = ["/".join(parts[:k]) for k in range(1, len(parts))]
        if rel in folders or any(p in seen for p in parents):
            out.findings.append(make("PKG-006", Place(file=rel), path=name, reason=_R["conflict"]))
            continue
        seen.add(rel)
        folders.update(parents)
        safe.append(_Entry(info, rel))
    return safe


def _unsafe_path(name: str, raw_parts: list[str]) -> str | None:
    """Why an entry name could write outside the extraction folder, or None."""
    if name.startswith(("/", "\\")):
        return _R["absolute"]
    if _DRIVE.match(name):
        return _R["drive"]
    if ".." in raw_parts:
        return _R["parent"]
    if "\x00" in name:
        return _R["bad_name"]
    return None


def _top_folder(rels: list[str]) -> str:
    """``"<top>/"`` when every file sits inside one top folder, else ``""``.

    A package's own folders (``drawings`` …) are never taken for a top folder.
    """
    if not rels or MANIFEST in rels:
        return ""
    tops = {r.split("/", 1)[0] for r in rels}
    if len(tops) == 1 and all("/" in r for r in rels):
        top = tops.pop()
        if top not in PACKAGE_FOLDERS:
            return top + "/"
    return ""


def _declared_limit(entries: list[_Entry], limits: Limits) -> str | None:
    """A PKG-007 reason from the sizes the zip declares (checked again while copying)."""
    excess = declared_excess(
        ((e.rel, e.info.file_size, e.info.compress_size) for e in entries), limits
    )
    return _reason(excess) if excess else None


@dataclass(frozen=True)
class Excess:
    """A size limit (PKG-007) that the contents of a zip break.

    Attributes
    ----------
    kind
        ``"member"`` (one member's size), ``"ratio"`` (one member's compression ratio),
        ``"total"`` (the sum of the sizes) or ``"total_ratio"`` (the ratio of the whole).
    limit
        The limit broken.
    path
        The member, for ``"member"`` and ``"ratio"``.
    """

    kind: str
    limit: float
    path: str | None = None


def member_excess(path: str, size: int, packed: int, limits: Limits) -> Excess | None:
    """The limit one member of ``size`` bytes, ``packed`` compressed, breaks, or None."""
    if size > limits.max_member_bytes:
        return Excess("member", limits.max_member_bytes, path)
    if size > RATIO_FLOOR_BYTES and size > limits.max_ratio * max(packed, 1):
        return Excess("ratio", limits.max_ratio, path)
    return None


def total_excess(size: int, packed: int, limits: Limits) -> Excess | None:
    """The limit the members together (``size`` bytes, ``packed`` compressed) break."""
    if size > limits.max_total_bytes:
        return Excess("total", limits.max_total_bytes)
    if size > RATIO_FLOOR_BYTES and size > limits.max_ratio * max(packed, 1):
        return Excess("total_ratio", limits.max_ratio)
    return None


def declared_excess(members: Iterable[tuple[str, int, int]], limits: Limits) -> Excess | None:
    """The first limit broken by the sizes a zip declares for its members.

    Parameters
    ----------
    members
        ``(path, size, compressed size)`` as the central directory declares them. Python's
        zip reader and calamine's both stop at the declared size, so these bound what
        reading can inflate; :class:`_Budget` counts the real bytes where a file is copied.
    limits
        The profile's limits.
    """
    total = packed = 0
    for path, size, comp in members:
        excess = member_excess(path, size, comp, limits)
        if excess:
            return excess
        total += size
        packed += comp
    return total_excess(total, packed, limits)


def _reason(excess: Excess) -> str:
    return _R[excess.kind].format(path=excess.path, limit=excess.limit)


class _Budget:
    """Byte counters for the actual (not declared) sizes while copying."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.total = 0
        self.packed = 0

    def check(self, rel: str, written: int, comp: int) -> None:
        excess = member_excess(rel, written, comp, self.limits) or total_excess(
            self.total + written, self.packed + comp, self.limits
        )
        if excess:
            raise _LimitExceeded(_reason(excess))


def _copy_entry(zf: zipfile.ZipFile, e: _Entry, target: Path, budget: _Budget) -> tuple[int, str]:
    """Stream one entry to ``target`` with a byte counter; remove the partial file on error."""
    target.parent.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256()
    written = 0
    comp = e.info.compress_size
    try:
        with zf.open(e.info) as src, open(target, "xb") as dst:
            while True:
                chunk = src.read(CHUNK)
                if not chunk:
                    break
                written += len(chunk)
                budget.check(e.rel, written, comp)
                h.update(chunk)
                dst.write(chunk)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    budget.total += written
    budget.packed += comp
    return written, h.hexdigest()


def _decoded_name(info: zipfile.ZipInfo) -> str:
    """The entry name, re-decoded when the zip did not flag it as UTF-8."""
    name = info.orig_filename
    if info.flag_bits & 0x800:
        return name
    try:
        raw = name.encode("cp437")
    except UnicodeEncodeError:  # decoded with another metadata encoding
        return name
    if raw.isascii():
        return name
    unicode_path = _unicode_path_extra(info.extra, raw)
    if unicode_path is not None:
        return unicode_path
    return decode_name(raw) or name


def _unicode_path_extra(extra: bytes, raw: bytes) -> str | None:
    """The Info-ZIP Unicode Path (0x7075) of an entry when it matches the raw name."""
    i = 0
    while i + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, i)
        body = extra[i + 4 : i + 4 + size]
        if tag == _UNICODE_PATH_EXTRA and len(body) >= 5 and body[0] == 1:
            (crc,) = struct.unpack_from("<L", body, 1)
            if crc == zlib.crc32(raw):
                try:
                    return body[5:].decode("utf-8")
                except UnicodeDecodeError:
                    return None
        i += 4 + size
    return None


# --------------------------------------------------------------------------- helpers


def _failed(reason: str, sha256: str | None = None) -> Opened:
    return Opened(root=None, sha256=sha256, findings=[make("PKG-001", Place(), reason=reason)])


def _is_junk(name: str) -> bool:
    return name in JUNK_NAMES or name in JUNK_DIRS


def _special_reason(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return _R["link"]
    if stat.S_ISFIFO(mode):
        return _R["fifo"]
    if stat.S_ISSOCK(mode):
        return _R["socket"]
    return _R["device"]


def _inside(base: Path, target: Path) -> bool:
    base_r = os.path.realpath(base)
    return os.path.commonpath([base_r, os.path.realpath(target)]) == base_r


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
