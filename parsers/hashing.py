"""A package's identity: sha256 of a zip's bytes, or of a folder's canonical listing.

One definition for reading (the sha256 in findings.json) and for storing (the raw store's
key): for a directory, one line ``"<relpath>\t<sha256 of the file>\n"`` per regular file
(relpath with ``/``, relative to the folder given), the lines sorted, joined and encoded in
UTF-8. Symbolic links and special files are not part of a package: neither hashed nor
stored. A relpath is the name on disk: bytes that are not UTF-8 (GBK names copied from
Windows) enter as they are, not as ``parsers.archive`` reads them to match files, so the
identity does not hang on how names are decoded.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _encode(text: str) -> bytes:
    # surrogateescape keeps non-UTF-8 file names (Linux bytes) hashable and stable
    return text.encode("utf-8", "surrogateescape")


def scan_tree(root: Path) -> tuple[dict[str, Path], list[str], list[str]]:
    """Everything under ``root``, sorted by relpath (``/``-separated).

    Returns
    -------
    tuple[dict[str, Path], list[str], list[str]]
        Regular files ``{relpath: path}``; other entries that are not folders (symbolic
        links, including links to folders, which are not followed; sockets, fifos …);
        folders that could not be listed.
    """
    files: dict[str, Path] = {}
    others: list[str] = []
    unreadable: list[str] = []

    def _error(exc: OSError) -> None:
        unreadable.append(Path(exc.filename).relative_to(root).as_posix())

    for dirpath, dirnames, filenames in os.walk(root, onerror=_error, followlinks=False):
        for name in dirnames:
            path = Path(dirpath, name)
            if os.path.islink(path):
                others.append(path.relative_to(root).as_posix())
        for name in filenames:
            path = Path(dirpath, name)
            rel = path.relative_to(root).as_posix()
            if stat.S_ISREG(os.lstat(path).st_mode):
                files[rel] = path
            else:
                others.append(rel)
    return dict(sorted(files.items())), sorted(others), sorted(unreadable)


def iter_regular_files(root: Path) -> Iterator[tuple[str, Path]]:
    """Yield ``(relpath, path)`` for every regular file under ``root``, sorted by relpath.

    Symbolic links (to files or folders) and special files are skipped; links to folders
    are not followed.
    """
    return iter(scan_tree(root)[0].items())


def listing_sha256(digests: Iterable[tuple[str, str]]) -> str:
    """The canonical listing hash of ``(relpath, sha256)`` pairs (see module docstring)."""
    lines = sorted(f"{rel}\t{digest}\n" for rel, digest in digests)
    return hashlib.sha256(_encode("".join(lines))).hexdigest()


def tree_digests(root: Path, known: dict[str, str] | None = None) -> dict[str, str]:
    """``{relpath: sha256}`` of every regular file under ``root``; ``known`` maps absolute
    paths already hashed to their digests (they are not read again)."""
    known = known or {}
    return {rel: known.get(str(path)) or file_sha256(path) for rel, path in iter_regular_files(root)}


def tree_sha256(root: Path, known: dict[str, str] | None = None) -> str:
    """The canonical listing hash of a directory tree."""
    return listing_sha256(tree_digests(root, known).items())


def package_sha256(path: Path) -> str:
    """The identity of a package: the zip's sha256, or its directory's listing hash."""
    path = Path(path)
    if path.is_dir():
        return tree_sha256(path)
    return file_sha256(path)

