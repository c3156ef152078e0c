"""File-side primitives of the store: checksums, durable copies, sealing and temp slots.

Everything here works on plain paths and knows nothing of the catalogue. The store
(``storage/store.py``) composes these into its crash-safe protocols.

Checksums
---------
A package's sha256 is the sha256 of the zip's bytes, or for a directory the sha256 of its
*canonical listing*: one line ``"<relpath>\\t<sha256 of the file>\\n"`` per regular file
(relpath with ``/``, relative to the package directory), the lines sorted, joined and
encoded in UTF-8. Symbolic links and special files are not part of a package: they are
neither hashed nor copied.

A published product carries ``MANIFEST.sha256`` in ``sha256sum`` format
(``"<sha256>  <relpath>\\n"``, sorted by relpath), so ``sha256sum -c MANIFEST.sha256`` run
inside the product folder checks it without this code.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import time
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from parsers.hashing import (  # noqa: F401 - the store's checksums are the package identity
    CHUNK,
    _encode,
    file_sha256,
    iter_regular_files,
    listing_sha256,
    package_sha256,
    scan_tree,
    tree_digests,
    tree_sha256,
)
from schemas.file_names import project_id_ok

try:  # POSIX: orphan detection by lock; elsewhere by age
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

MANIFEST_NAME = "MANIFEST.sha256"
PROVENANCE_NAME = "PROVENANCE.json"  # what a product came from (see write_provenance)
STORE_WRITTEN = frozenset({MANIFEST_NAME, PROVENANCE_NAME})  # top-level names build() may not use
FILE_MODE = 0o444  # sealed file: read-only for everyone
DIR_MODE = 0o555  # sealed directory: no entries added, removed or renamed
WORK_DIR_MODE = 0o700
LOCK_SUFFIX = ".lock"
STALE_AFTER_S = 24 * 3600.0  # for temp entries locks cannot judge (see remove_orphans)

_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_MANIFEST_LINE = re.compile(r"([0-9a-f]{64})  (.+)")


def check_sha256(value: str) -> str:
    """Return ``value`` lower-cased if it is a sha256 hex digest, else raise ValueError."""
    digest = value.strip().lower() if isinstance(value, str) else ""
    if not _SHA256_RE.fullmatch(digest):
        raise ValueError(f"not a sha256 hex digest: {value!r}")
    return digest


def check_project_id(project_id: str) -> str:
    """Return ``project_id`` if it can name a folder on any system, else raise ValueError
    (:func:`schemas.package.project_id_ok`, also what the manifest check holds it to)."""
    if not project_id_ok(project_id):
        raise ValueError(f"project id cannot name a folder: {project_id!r}")
    return project_id


_PLAIN_FOLDER = re.compile(r"[^\W_][\w.-]{0,99}")  # letters (any script), digits, _ . -
_RESERVED = re.compile(r"(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?", re.IGNORECASE)


def folder_name(project_id: str) -> str:
    """The folder a project's products go in: the id itself when it is plain, else a
    safe name derived from it.

    Plain: letters of any script, digits, ``_ . -``, starting with a letter or digit, at
    most 100 characters and 200 bytes, NFC, not a Windows device name (``CON``,
    ``COM1.txt`` …), not ending in ``.``. Any other id (controls, bidi marks, blanks,
    ``/``) becomes ``<its plain characters, at most 40>~<16 hex of its sha256>``: ``~``
    never occurs in a plain name, so the two forms never collide. The id itself is kept
    in the catalogue and in each product's ``PROVENANCE.json``.
    """
    if not isinstance(project_id, str) or not project_id:
        raise ValueError(f"not a project id: {project_id!r}")
    if (
        _PLAIN_FOLDER.fullmatch(project_id)
        and not _RESERVED.fullmatch(project_id)
        and not project_id.endswith(".")
        and len(project_id.encode("utf-8", "surrogatepass")) <= 200
        and unicodedata.is_normalized("NFC", project_id)
    ):
        return project_id
    digest = hashlib.sha256(project_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    kept = "".join(c for c in unicodedata.normalize("NFC", project_id) if c.isalnum() or c in "-_")
    return f"{kept[:40]}~{digest}"


def ascii_key(value: str, limit: int = 40) -> str:
    """A lower-case ``[a-z0-9-]`` key naming ``value`` (a Prefect artifact key, a tag):
    its ASCII letters and digits lower-cased, and 10 hex of its sha256 whenever anything
    else was dropped or changed, so that values differing beyond case never share a key."""
    kept = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")[:limit].strip("-")
    if kept == value.lower() and kept:  # an ASCII id: only its case folded
        return kept
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{kept}-{digest}" if kept else digest


def hash_files(files: dict[str, Path]) -> dict[str, tuple[str, int]]:
    """``{relpath: (sha256, size)}`` of the given files."""
    return {rel: (file_sha256(p), p.stat().st_size) for rel, p in files.items()}


def hash_package(path: Path, kind: str) -> tuple[str, dict[str, tuple[str, int]], int]:
    """Hash a package stored as ``kind`` (``"zip"`` file or ``"dir"`` folder).

    Returns
    -------
    tuple[str, dict[str, tuple[str, int]], int]
        The package's sha256, ``{relpath: (sha256, size)}`` of a folder's files (empty for
        a zip) and the total size in bytes.
    """
    if kind == "zip":
        return file_sha256(path), {}, path.stat().st_size
    files = hash_files(scan_tree(path)[0])
    digest = listing_sha256((rel, d) for rel, (d, _) in files.items())
    return digest, files, sum(s for _, s in files.values())


def fsync_file(path: Path) -> None:
    """Flush a file's data and inode (size, mode) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Flush a directory's entries to disk, so a rename or create in it survives power loss."""
    if os.name == "nt":  # pragma: no cover - directories cannot be opened on Windows
        return
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """fsync every regular file and every directory under ``root``, children first."""
    for dirpath, dirnames, filenames in os.walk(root, topdown=False, followlinks=False):
        for name in filenames:
            path = Path(dirpath, name)
            if stat.S_ISREG(os.lstat(path).st_mode):
                fsync_file(path)
        for name in dirnames:
            if not os.path.islink(os.path.join(dirpath, name)):
                fsync_dir(Path(dirpath, name))
    fsync_dir(root)


def makedirs_durably(path: Path) -> None:
    """Create ``path`` and missing parents, fsyncing each parent that got a new entry."""
    missing: list[Path] = []
    p = Path(path)
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir()
        except FileExistsError:  # another process made it meanwhile
            continue
        fsync_dir(d.parent)


def copy_file_durably(source: Path, dest: Path) -> tuple[str, int]:
    """Copy one file, hashing the bytes as they are written; fsync it; keep the mtime.

    Returns
    -------
    tuple[str, int]
        The sha256 and size of what was written.
    """
    h = hashlib.sha256()
    size = 0
    with open(source, "rb") as src, open(dest, "xb") as dst:
        while chunk := src.read(CHUNK):
            h.update(chunk)
            dst.write(chunk)
            size += len(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    st = os.stat(source)
    os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns))
    return h.hexdigest(), size


def copy_tree_durably(source: Path, dest: Path) -> dict[str, tuple[str, int]]:
    """Copy the regular files of ``source`` into the new folder ``dest``.

    Returns
    -------
    dict[str, tuple[str, int]]
        ``{relpath: (sha256, size)}`` of what was written.
    """
    dest.mkdir(mode=WORK_DIR_MODE)
    out: dict[str, tuple[str, int]] = {}
    for rel, path in iter_regular_files(source):
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        out[rel] = copy_file_durably(path, target)
    fsync_tree(dest)
    return out


# --- sealing and removal ----------------------------------------------------------------


def seal(path: Path, *, include_root: bool = True) -> None:
    """Make a file or a tree read-only (files 0444, folders 0555), children first.

    ``include_root=False`` leaves the top folder writable: a folder must stay writable to
    be renamed into another parent (its ``..`` entry changes), so the store seals the top
    folder only after the move.
    """
    path = Path(path)
    if not path.is_dir():
        os.chmod(path, FILE_MODE)
        return
    for dirpath, dirnames, filenames in os.walk(path, topdown=False, followlinks=False):
        for name in filenames:
            p = os.path.join(dirpath, name)
            if stat.S_ISREG(os.lstat(p).st_mode):
                os.chmod(p, FILE_MODE)
        for name in dirnames:
            p = os.path.join(dirpath, name)
            if not os.path.islink(p):
                os.chmod(p, DIR_MODE)
    if include_root:
        os.chmod(path, DIR_MODE)


def seal_top(path: Path) -> bool:
    """Seal a folder itself (not its contents) if it is writable; return whether it was."""
    if path.is_dir() and not is_sealed(path):
        os.chmod(path, DIR_MODE)
        return True
    return False


def is_sealed(path: Path) -> bool:
    """True if ``path`` (file or folder, not its contents) has no write bit."""
    return not (os.lstat(path).st_mode & 0o222)


def force_remove(path: Path) -> bool:
    """Remove a file or a tree even if sealed; a missing path is fine.

    Returns
    -------
    bool
        Whether there was something to remove.
    """
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if not stat.S_ISDIR(st.st_mode):
        path.unlink(missing_ok=True)
        return True
    os.chmod(path, 0o700)
    for dirpath, dirnames, _ in os.walk(path, followlinks=False):
        for name in dirnames:
            p = os.path.join(dirpath, name)
            if not os.path.islink(p):
                os.chmod(p, 0o700)
    shutil.rmtree(path, ignore_errors=False)
    return True


# --- manifests --------------------------------------------------------------------------


def check_product_relpath(rel: str) -> None:
    """Reject names a sha256sum manifest cannot carry plainly, or that leave the folder."""
    parts = rel.split("/")
    if (
        not rel
        or rel.startswith("/")
        or any(p in ("", ".", "..") for p in parts)
        or any(c in rel for c in "\n\r\\\0")
    ):
        raise ValueError(f"unusable file name in a product: {rel!r}")


_UNSAFE_IN_PRODUCT = ("%", "\\", "\n", "\r", "\0")


def safe_product_name(rel: str) -> str:
    """``rel`` with the characters a manifest cannot carry plainly (``\\ \\n \\r NUL``)
    percent-escaped (``%5C %0A %0D %00``, and ``%`` as ``%25`` in such a name); a name
    without them is returned unchanged."""
    if not any(c in rel for c in "\\\n\r\0"):
        return rel
    return "".join(f"%{ord(c):02X}" if c in _UNSAFE_IN_PRODUCT else c for c in rel)


def escape_unsafe_names(folder: Path) -> dict[str, str]:
    """Rename the files and folders under ``folder`` whose names a manifest cannot carry
    (see :func:`safe_product_name`), deepest first.

    Returns
    -------
    dict[str, str]
        ``{new relpath: original relpath}`` of each renamed entry.

    Raises
    ------
    ValueError
        If an escaped name is already taken.
    """
    renamed: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(folder, topdown=False, followlinks=False):
        for name in (*filenames, *dirnames):
            safe = safe_product_name(name)
            if safe == name:
                continue
            old, new = Path(dirpath, name), Path(dirpath, safe)
            if os.path.lexists(new):
                raise ValueError(f"escaped name {safe!r} is taken in the product")
            os.rename(old, new)
            renamed[new.relative_to(folder).as_posix()] = old.relative_to(folder).as_posix()
    # names recorded relative to the final tree: a renamed parent changes its children
    return {"/".join(map(safe_product_name, rel.split("/"))): orig for rel, orig in renamed.items()}


def provenance_text(fields: dict[str, object]) -> bytes:
    """The bytes of ``PROVENANCE.json``: ``fields`` as sorted, indented UTF-8 JSON."""
    return (json.dumps(fields, ensure_ascii=False, sort_keys=True, indent=1) + "\n").encode()


def write_provenance(folder: Path, fields: dict[str, object]) -> str:
    """Write and fsync ``PROVENANCE.json`` into ``folder`` (a new file in the product's
    temp folder, published with it by one rename); return its sha256."""
    data = provenance_text(fields)
    with open(folder / PROVENANCE_NAME, "xb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return hashlib.sha256(data).hexdigest()


def read_provenance(folder: Path) -> dict[str, object] | None:
    """The fields of ``folder``'s ``PROVENANCE.json``; None when it has none.

    Raises
    ------
    ValueError
        If it is there but not a JSON object with a package sha256, project id,
        department and revision.
    """
    try:
        data = (folder / PROVENANCE_NAME).read_bytes()
    except FileNotFoundError:
        return None
    try:
        fields = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{PROVENANCE_NAME} is not JSON: {exc}") from exc
    if not (
        isinstance(fields, dict)
        and isinstance(fields.get("package_sha256"), str)
        and _SHA256_RE.fullmatch(fields["package_sha256"])
        and isinstance(fields.get("project_id"), str)
        and isinstance(fields.get("department"), str)
        and isinstance(fields.get("revision"), int)
    ):
        raise ValueError(f"{PROVENANCE_NAME} lacks package_sha256/project_id/department/revision")
    return fields


def manifest_text(digests: dict[str, str]) -> str:
    """The ``MANIFEST.sha256`` text for ``{relpath: sha256}``."""
    return "".join(f"{digests[rel]}  {rel}\n" for rel in sorted(digests))


def write_manifest(folder: Path, digests: dict[str, str]) -> str:
    """Write and fsync ``MANIFEST.sha256`` into ``folder``; return the manifest's sha256."""
    data = _encode(manifest_text(digests))
    path = folder / MANIFEST_NAME
    with open(path, "xb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return hashlib.sha256(data).hexdigest()


def read_manifest(folder: Path) -> dict[str, str]:
    """Parse ``MANIFEST.sha256`` of ``folder`` into ``{relpath: sha256}``.

    Raises
    ------
    FileNotFoundError
        If there is no manifest.
    ValueError
        If a line is malformed, a name is unusable or repeated.
    """
    text = (folder / MANIFEST_NAME).read_bytes().decode("utf-8", "surrogateescape")
    out: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        m = _MANIFEST_LINE.fullmatch(line)
        if not m:
            raise ValueError(f"{MANIFEST_NAME} line {n} is malformed")
        digest, rel = m.groups()
        check_product_relpath(rel)
        if rel in out or rel == MANIFEST_NAME:
            raise ValueError(f"{MANIFEST_NAME} line {n} repeats or lists itself: {rel}")
        out[rel] = digest
    return out


# --- temp slots -------------------------------------------------------------------------


@contextmanager
def temp_slot(tmp_dir: Path, kind: str, suffix: str = "") -> Iterator[Path]:
    """Reserve a unique, not yet existing path in ``tmp_dir`` for one piece of work.

    A sibling ``<name>.lock`` file is created first and held under ``flock`` for as long
    as the slot is in use; the owner writes its pid into it once it holds the lock, and
    only then is the work path used. :func:`remove_orphans` can so tell the work of a live
    process (lock held, or not yet taken: the file is still empty) from the leftovers of a
    dead one (pid written, lock free: the kernel drops a lock when its process dies,
    SIGKILL too). On exit whatever is still at the path is removed, then the lock file:
    after a successful rename there is nothing left at the path.
    """
    name = f"{kind}-{uuid.uuid4().hex}{suffix}"
    path = tmp_dir / name
    lock_path = tmp_dir / (name + LOCK_SUFFIX)
    fd = os.open(lock_path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)  # waits only while a reconcile peeks at it
        os.write(fd, f"{os.getpid()}\n".encode())
        yield path
    finally:
        try:
            force_remove(path)
        finally:
            lock_path.unlink(missing_ok=True)
            os.close(fd)


def _lock_if_dead(lock_path: Path, stale_after: float) -> int | None:
    """Lock ``lock_path`` if its owner is dead: the fd, or None (owner alive, or gone).

    Free and holding a pid: the owner died. Free and empty: the owner is between creating
    and locking it (or died right there: then only once it is older than
    ``stale_after``).
    """
    try:
        fd = os.open(lock_path, os.O_RDWR)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    st = os.fstat(fd)
    if st.st_size == 0 and time.time() - st.st_mtime < stale_after:
        os.close(fd)
        return None
    return fd


def remove_orphans(tmp_dir: Path, *, stale_after: float = STALE_AFTER_S) -> list[Path]:
    """Remove the work left in ``tmp_dir`` by processes that died; keep live work.

    Parameters
    ----------
    tmp_dir
        The store's work area.
    stale_after
        Seconds after which an entry is removed where locks cannot tell: no ``flock`` on
        the platform, a lock file whose owner died before writing its pid, or an entry
        with no lock file at all (not made by :func:`temp_slot`).

    Returns
    -------
    list[Path]
        The removed work paths (lock files are not listed).
    """
    removed: list[Path] = []
    if not tmp_dir.is_dir():
        return removed
    entries = sorted(tmp_dir.iterdir())
    if fcntl is None:  # pragma: no cover - Windows: by age only
        now = time.time()
        for p in entries:
            is_work = not p.name.endswith(LOCK_SUFFIX)
            if now - os.lstat(p).st_mtime > stale_after and force_remove(p) and is_work:
                removed.append(p)
        return removed
    for p in entries:
        if p.name.endswith(LOCK_SUFFIX):
            continue
        lock_path = p.with_name(p.name + LOCK_SUFFIX)
        if lock_path.exists():
            fd = _lock_if_dead(lock_path, stale_after)
            if fd is None:
                continue  # live, or finished by its owner meanwhile
            try:
                gone = force_remove(p)
                lock_path.unlink(missing_ok=True)
            finally:
                os.close(fd)
        elif time.time() - os.lstat(p).st_mtime > stale_after:
            # no lock: not made by temp_slot (whose lock comes first and goes last); it
            # may be someone's live folder, so only once it is stale
            gone = force_remove(p)
        else:
            continue
        if gone:
            removed.append(p)
    for lock_path in entries:
        work = lock_path.with_name(lock_path.name.removesuffix(LOCK_SUFFIX))
        if not lock_path.name.endswith(LOCK_SUFFIX) or work.exists():
            continue
        fd = _lock_if_dead(lock_path, stale_after)
        if fd is not None:
            try:
                lock_path.unlink(missing_ok=True)
            finally:
                os.close(fd)
    return removed
