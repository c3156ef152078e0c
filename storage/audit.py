"""Auditing the store: what is damaged (``verify_all``), and making the catalogue agree
with the files after a crash (``reconcile``).

``verify_all`` changes nothing: it re-hashes every stored package and every published
file against what was recorded. ``reconcile`` never deletes from ``raw/`` or
``products/``: it removes dead temp work, adds the rows a crash lost (after checking the
files), flags rows whose files are gone, and re-seals folders a crash left writable.
Whatever it cannot decide is reported as ``unresolved``.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from storage.catalogue import (
    DEPARTMENTS,
    VISIBLE_STATUSES,
    Catalogue,
    ProductRecord,
    ProductStatus,
    StoredPackage,
    now_iso,
)
from storage.files import (
    MANIFEST_NAME,
    file_sha256,
    hash_files,
    hash_package,
    read_manifest,
    remove_orphans,
    scan_tree,
    seal_top,
)

DamageKind = Literal["missing", "changed", "extra", "unreadable"]
ProductKey = tuple[str, str, int]  # department, project_id, revision

_PREFIX_DIR = re.compile(r"[0-9a-f]{2}")
_PACKAGE_NAME = re.compile(r"([0-9a-f]{64})(\.zip)?")
_REVISION_DIR = re.compile(r"r([1-9][0-9]*)")


class StoreLike(Protocol):
    """What the audit uses of :class:`storage.store.Store` (which it never imports): the
    store's folders and its catalogue."""

    root: Path
    raw_dir: Path
    products_dir: Path
    tmp_dir: Path
    catalogue: Catalogue


class StoreError(RuntimeError):
    """The store found something it cannot decide on alone (e.g. a folder in a product's
    place that is not a complete product). Run ``duoce verify-store``."""


@dataclass(frozen=True, slots=True)
class Damage:
    """One thing in the store that does not match what was recorded.

    ``kind``: ``missing`` (recorded, not there), ``changed`` (checksum differs),
    ``extra`` (there, not recorded), ``unreadable`` (cannot be read).
    """

    path: Path
    kind: DamageKind
    detail: str


@dataclass
class ReconcileReport:
    """What :func:`reconcile` did, and what it left for a person to decide."""

    removed_temp: list[Path] = field(default_factory=list)
    recorded_packages: list[Path] = field(default_factory=list)
    recovered_products: list[Path] = field(default_factory=list)
    missing_products: list[Path] = field(default_factory=list)
    resealed: list[Path] = field(default_factory=list)
    unresolved: list[Damage] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether reconcile changed anything on disk or in the catalogue."""
        return bool(
            self.removed_temp
            or self.recorded_packages
            or self.recovered_products
            or self.missing_products
            or self.resealed
        )


# --- checks of one folder ---------------------------------------------------------------


def compare_files(folder: Path, expected: dict[str, str], skip: set[str]) -> list[Damage]:
    """Damage of ``folder`` against ``{relpath: sha256}``; names in ``skip`` are ignored."""
    files, others, unreadable = scan_tree(folder)
    out: list[Damage] = []
    for rel, digest in sorted(expected.items()):
        path = files.get(rel)
        if path is None:
            out.append(Damage(folder / rel, "missing", "recorded file not there"))
            continue
        try:
            actual = file_sha256(path)
        except OSError as exc:
            out.append(Damage(path, "unreadable", str(exc)))
            continue
        if actual != digest:
            out.append(Damage(path, "changed", f"sha256 {actual}, recorded {digest}"))
    for rel in sorted(set(files) - set(expected) - skip):
        out.append(Damage(files[rel], "extra", "file not recorded"))
    out += [Damage(folder / rel, "extra", "not a regular file") for rel in others]
    out += [Damage(folder / rel, "unreadable", "folder cannot be listed") for rel in unreadable]
    return out


def complete_product(folder: Path) -> tuple[dict[str, tuple[str, int]], str]:
    """Check a product folder against its own manifest.

    Returns
    -------
    tuple[dict[str, tuple[str, int]], str]
        ``{relpath: (sha256, size)}`` and the manifest's sha256.

    Raises
    ------
    ValueError
        If the folder is not exactly what its manifest lists (or has no manifest).
    """
    try:
        listed = read_manifest(folder)
    except FileNotFoundError as exc:
        raise ValueError(f"no {MANIFEST_NAME}") from exc
    damage = compare_files(folder, listed, {MANIFEST_NAME})
    if damage:
        raise ValueError("; ".join(f"{d.kind} {d.path.name}: {d.detail}" for d in damage))
    files, _, _ = scan_tree(folder)
    del files[MANIFEST_NAME]
    return hash_files(files), file_sha256(folder / MANIFEST_NAME)


# --- catalogue rows from files ----------------------------------------------------------


def adopt_product_in(conn: sqlite3.Connection, root: Path, key: ProductKey, folder: Path) -> None:
    """Record a complete product folder found without its row, on ``conn`` (which holds
    the write lock), with status ``recovered``.

    Raises
    ------
    StoreError
        If the folder is not a complete product.
    """
    try:
        files, manifest_sha256 = complete_product(folder)
    except (ValueError, OSError) as exc:
        raise StoreError(f"{folder} is not a complete product: {exc}") from exc
    put_product_row_in(conn, root, key, folder, files, manifest_sha256, "recovered")


def put_product_row_in(
    conn: sqlite3.Connection,
    root: Path,
    key: ProductKey,
    folder: Path,
    files: dict[str, tuple[str, int]],
    manifest_sha256: str,
    status: ProductStatus,
) -> None:
    """Insert (or replace) the row of the product ``folder`` of the store at ``root``,
    stamped now, and its ``files`` (``{relpath: (sha256, size)}``) on ``conn``."""
    department, project_id, revision = key
    record = ProductRecord(
        department=department,
        project_id=project_id,
        revision=revision,
        path=folder.relative_to(root).as_posix(),
        manifest_sha256=manifest_sha256,
        file_count=len(files),
        size=sum(s for _, s in files.values()),
        published_at=now_iso(),
        status=status,
    )
    Catalogue.put_product_in(conn, record, files)


def record_package(
    catalogue: Catalogue,
    root: Path,
    sha256: str,
    kind: Literal["zip", "dir"],
    path: Path,
    files: dict[str, tuple[str, int]],
    size: int,
) -> bool:
    """Add the catalogue row of a stored package unless it has one; True if added."""
    if catalogue.package(sha256) is not None:
        return False
    package = StoredPackage(
        sha256=sha256,
        kind=kind,
        path=path.relative_to(root).as_posix(),
        size=size,
        file_count=len(files) if kind == "dir" else 1,
        stored_at=now_iso(),
    )
    return catalogue.add_package(package, files)


# --- walking the store ------------------------------------------------------------------


def scan_raw(raw_dir: Path) -> Iterator[tuple[Path, str | None, Literal["zip", "dir"] | None]]:
    """``(path, sha256, kind)`` of every entry in ``raw/``; ``(path, None, None)`` for an
    entry that is not a stored package."""
    for prefix in sorted(raw_dir.iterdir()):
        if not (_PREFIX_DIR.fullmatch(prefix.name) and prefix.is_dir()) or prefix.is_symlink():
            yield prefix, None, None
            continue
        for item in sorted(prefix.iterdir()):
            m = _PACKAGE_NAME.fullmatch(item.name)
            is_zip = bool(m and m.group(2))
            ok = (
                m is not None
                and m.group(1)[:2] == prefix.name
                and not item.is_symlink()
                and (item.is_file() if is_zip else item.is_dir())
            )
            if m is not None and ok:
                yield item, m.group(1), "zip" if is_zip else "dir"
            else:
                yield item, None, None


def scan_products(products_dir: Path) -> Iterator[tuple[Path, ProductKey | None]]:
    """``(path, (department, project_id, revision))`` of every product folder in
    ``products/``; ``(path, None)`` for an entry that is not one."""
    for dep in sorted(products_dir.iterdir()):
        if dep.name not in DEPARTMENTS or not dep.is_dir() or dep.is_symlink():
            yield dep, None
            continue
        for project in sorted(dep.iterdir()):
            if not project.is_dir() or project.is_symlink():
                yield project, None
                continue
            for rev in sorted(project.iterdir()):
                m = _REVISION_DIR.fullmatch(rev.name)
                if m and rev.is_dir() and not rev.is_symlink():
                    yield rev, (dep.name, project.name, int(m.group(1)))
                else:
                    yield rev, None


# --- reconcile ----------------------------------------------------------------------------


def reconcile(store: StoreLike) -> ReconcileReport:
    """Make the catalogue agree with the files; remove dead temp work. See
    :meth:`storage.store.Store.reconcile`."""
    report = ReconcileReport(removed_temp=remove_orphans(store.tmp_dir))
    for path, sha256, kind in scan_raw(store.raw_dir):
        if sha256 is None or kind is None:
            report.unresolved.append(Damage(path, "extra", "not a stored package"))
            continue
        _reconcile_package(store, path, sha256, kind, report)

    on_disk: set[ProductKey] = set()
    for path, key in scan_products(store.products_dir):
        if key is None:
            report.unresolved.append(Damage(path, "extra", "not a product folder"))
            continue
        on_disk.add(key)
        _reconcile_product(store, path, key, report)
    for record in store.catalogue.products(statuses=VISIBLE_STATUSES):
        key = (record.department, record.project_id, record.revision)
        if key in on_disk:
            continue
        with store.catalogue.transaction() as conn:  # re-check under the write lock
            current = Catalogue.product_in(conn, *key)
            path = store.root / record.path
            if current and current.status in VISIBLE_STATUSES and not path.exists():
                Catalogue.set_product_status_in(conn, *key, "missing")
                report.missing_products.append(path)
    return report


def _reconcile_package(
    store: StoreLike, path: Path, sha256: str, kind: Literal["zip", "dir"], report: ReconcileReport
) -> None:
    if store.catalogue.package(sha256) is None:
        try:
            digest, files, size = hash_package(path, kind)
        except OSError as exc:
            report.unresolved.append(Damage(path, "unreadable", str(exc)))
            return
        if digest != sha256:
            report.unresolved.append(Damage(path, "changed", f"hashes to {digest}"))
            return
        if record_package(store.catalogue, store.root, sha256, kind, path, files, size):
            report.recorded_packages.append(path)
    if kind == "dir" and seal_top(path):
        report.resealed.append(path)


def _reconcile_product(
    store: StoreLike, path: Path, key: ProductKey, report: ReconcileReport
) -> None:
    record = store.catalogue.product(*key)
    if record is None or record.status not in VISIBLE_STATUSES:
        if store.catalogue.revision(key[1], key[2]) is None:
            report.unresolved.append(Damage(path, "extra", "no such revision recorded"))
            return
        with store.catalogue.transaction() as conn:  # a publisher may be mid-commit
            record = Catalogue.product_in(conn, *key)
            if record is None or record.status not in VISIBLE_STATUSES:
                try:
                    adopt_product_in(conn, store.root, key, path)
                except StoreError as exc:
                    report.unresolved.append(Damage(path, "extra", str(exc)))
                    return
                report.recovered_products.append(path)
    if seal_top(path):
        report.resealed.append(path)


# --- verify -------------------------------------------------------------------------------


def verify_all(store: StoreLike) -> list[Damage]:
    """Every damage in the store. See :meth:`storage.store.Store.verify_all`."""
    damages: list[Damage] = []
    recorded = {p.sha256: p for p in store.catalogue.packages()}
    seen: set[str] = set()
    for path, sha256, kind in scan_raw(store.raw_dir):
        if sha256 is None or kind is None:
            damages.append(Damage(path, "extra", "not a stored package"))
            continue
        seen.add(sha256)
        damages += _verify_package(store, path, sha256, kind)
    for sha256, package in recorded.items():
        if sha256 not in seen:
            damages.append(Damage(store.root / package.path, "missing", "package not there"))

    records = {(r.department, r.project_id, r.revision): r for r in store.catalogue.products()}
    on_disk: set[ProductKey] = set()
    for path, key in scan_products(store.products_dir):
        if key is None:
            damages.append(Damage(path, "extra", "not a product folder"))
            continue
        on_disk.add(key)
        if key in records:
            damages += _verify_product(store, path, records[key])
        else:
            damages.append(Damage(path, "extra", "product not in the catalogue: reconcile"))
    for key, record in records.items():
        if key not in on_disk:
            damages.append(Damage(store.root / record.path, "missing", "product not there"))
    return damages


def _verify_package(store: StoreLike, path: Path, sha256: str, kind: str) -> list[Damage]:
    expected = store.catalogue.package_files(sha256) if kind == "dir" else {}
    if expected:  # name the files that differ
        return compare_files(path, expected, set())
    try:
        digest = hash_package(path, kind)[0]
    except OSError as exc:
        return [Damage(path, "unreadable", str(exc))]
    return [] if digest == sha256 else [Damage(path, "changed", f"hashes to {digest}")]


def _verify_product(store: StoreLike, path: Path, record: ProductRecord) -> list[Damage]:
    out: list[Damage] = []
    manifest = path / MANIFEST_NAME
    try:
        digest = file_sha256(manifest)
    except FileNotFoundError:
        out.append(Damage(manifest, "missing", "manifest not there"))
    except OSError as exc:
        out.append(Damage(manifest, "unreadable", str(exc)))
    else:
        if digest != record.manifest_sha256:
            detail = f"sha256 {digest}, recorded {record.manifest_sha256}"
            out.append(Damage(manifest, "changed", detail))
    expected = store.catalogue.product_files(record.department, record.project_id, record.revision)
    return out + compare_files(path, expected, {MANIFEST_NAME})
