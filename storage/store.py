"""The embedded store: one folder, nothing to install, safe against a crash at any step.

Layout
------
::

    store/
      raw/<sha256[:2]>/<sha256>.zip | <sha256>/     packages, once each, sealed read-only
      products/<department>/<project_id>/r<revision>/  published products + MANIFEST.sha256
      catalogue.sqlite                               see storage/catalogue.py
      tmp/                                           work area (same filesystem: renames)

Crash safety
------------
Files are written aside in ``tmp/`` (a unique name per piece of work, held by a lock),
fsynced and sealed, then moved into place by one ``rename`` and the parent folder fsynced.
A rename is atomic, so a reader sees no product folder or a complete one.

Publication takes the catalogue's write lock (``BEGIN IMMEDIATE``), inserts the product
row, renames the folder into place, fsyncs the parent and only then commits. So:

* the row is never committed without the folder (the folder is durable first);
* a crash before the rename leaves only temp work, which :meth:`Store.reconcile` removes;
* a crash after the rename and before the commit leaves a complete folder without a row:
  :meth:`Store.reconcile` (or the next :meth:`Store.publish` of that product) checks it
  against its manifest and adds the row with status ``recovered``;
* readers list products from the catalogue only, so they never see an uncommitted one.

Modules: ``storage.files`` (checksums, durable copies, sealing, temp slots),
``storage.catalogue`` (SQLite), ``storage.audit`` (``reconcile``, ``verify_all``),
``storage.reader`` (a department's view and :class:`Product`); this one composes them.
Imports go one way (store → audit, reader → catalogue → files): the audit and the reader
take the store as an argument, typed by what they use of it, and never import this module.

Every step boundary calls :func:`_crash_point` with a name from :data:`CRASH_POINTS`: a
no-op here, which tests replace to raise or to kill the process at that point.
"""

from __future__ import annotations

import errno
import logging
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from storage.audit import (
    Damage,
    ReconcileReport,
    StoreError,
    adopt_product_in,
    put_product_row_in,
    reconcile,
    record_package,
    verify_all,
)
from storage.catalogue import (
    DEPARTMENTS,
    VISIBLE_STATUSES,
    Catalogue,
    ProductRecord,
    Revision,
    StoredPackage,
    Submission,
)
from storage.files import (
    MANIFEST_NAME,
    WORK_DIR_MODE,
    check_product_relpath,
    check_project_id,
    check_sha256,
    copy_file_durably,
    copy_tree_durably,
    fsync_dir,
    fsync_tree,
    hash_files,
    hash_package,
    listing_sha256,
    makedirs_durably,
    scan_tree,
    seal,
    seal_top,
    temp_slot,
    write_manifest,
)
from storage.reader import DepartmentReader, Product

__all__ = [
    "CRASH_POINTS",
    "DEPARTMENTS",
    "Damage",
    "DepartmentReader",
    "Product",
    "ReconcileReport",
    "Revision",
    "Store",
    "StoreError",
    "StoredPackage",
    "Submission",
]

log = logging.getLogger(__name__)

DEFAULT_ROOT = Path("store")
CATALOGUE_NAME = "catalogue.sqlite"

RAW_CRASH_POINTS: tuple[str, ...] = (
    "raw:copied",  # copy in tmp complete, hashed and fsynced
    "raw:sealed",  # copy made read-only (a folder's top stays writable for the move)
    "raw:renamed",  # moved into raw/, parent not yet fsynced, top not yet sealed
    "raw:synced",  # parent fsynced, top sealed; no catalogue row yet
    "raw:recorded",  # catalogue row committed
)
PUBLISH_CRASH_POINTS: tuple[str, ...] = (
    "publish:built",  # build() returned; files in the temp folder, not yet synced
    "publish:manifest_written",  # every file hashed, MANIFEST.sha256 written
    "publish:synced",  # files and folders sealed and fsynced
    "publish:parents_ready",  # products/<dep>/<project>/ exists, durably
    "publish:row_inserted",  # inside BEGIN IMMEDIATE: row inserted, folder not moved
    "publish:renamed",  # folder moved into place, parent not fsynced, not committed
    "publish:parent_synced",  # parent fsynced, not committed
    "publish:committed",  # committed; top folder not yet sealed
)
CRASH_POINTS: tuple[str, ...] = RAW_CRASH_POINTS + PUBLISH_CRASH_POINTS


def _crash_point(name: str) -> None:
    """Mark a step boundary; a no-op in production (tests monkeypatch it to fail here)."""


def check_department(department: str) -> str:
    """Return ``department`` if it is one of :data:`DEPARTMENTS`, else raise ValueError."""
    if department not in DEPARTMENTS:
        raise ValueError(f"unknown department {department!r}; one of {DEPARTMENTS}")
    return department


def _check_revision(revision: int) -> int:
    if isinstance(revision, bool) or not isinstance(revision, int) or revision < 1:
        raise ValueError(f"revision must be an int >= 1, got {revision!r}")
    return revision


def _product_files(work: Path) -> dict[str, tuple[str, int]]:
    """Hash what a build wrote; reject links, special files and unusable names."""
    files, others, unreadable = scan_tree(work)
    if others or unreadable:
        raise ValueError(f"a product may hold only regular files and folders: {others}")
    if MANIFEST_NAME in files:
        raise ValueError(f"{MANIFEST_NAME} is written by the store, not by build()")
    for rel in files:
        check_product_relpath(rel)
    return hash_files(files)


class Store:
    """The store folder: raw packages, published products and the catalogue.

    Creating a ``Store`` creates the folders and the catalogue schema if missing; it does
    not reconcile (call :meth:`reconcile` once at start-up of a long-running process or
    before ``verify-store``). A ``Store`` holds only paths: safe to pickle and to use
    from several threads and processes at once.

    Parameters
    ----------
    root
        The store folder (``store/`` by default).
    busy_timeout
        Seconds to wait for another process's catalogue write lock.
    """

    def __init__(self, root: Path | str = DEFAULT_ROOT, *, busy_timeout: float = 30.0) -> None:
        self.root = Path(root).absolute()
        self.raw_dir = self.root / "raw"
        self.products_dir = self.root / "products"
        self.tmp_dir = self.root / "tmp"
        for d in (self.raw_dir, self.tmp_dir, *(self.products_dir / d for d in DEPARTMENTS)):
            d.mkdir(parents=True, exist_ok=True)
        self.catalogue = Catalogue(self.root / CATALOGUE_NAME, busy_timeout=busy_timeout)

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    # --- raw packages ----------------------------------------------------------------------

    def _raw_target(self, sha256: str, kind: str) -> Path:
        name = f"{sha256}.zip" if kind == "zip" else sha256
        return self.raw_dir / sha256[:2] / name

    def raw_path(self, sha256: str) -> Path | None:
        """Where a stored package is (zip file or folder), or None if it is not stored."""
        sha256 = check_sha256(sha256)
        for kind in ("zip", "dir"):
            path = self._raw_target(sha256, kind)
            if os.path.lexists(path):
                return path
        return None

    def put_raw(self, source: Path, sha256: str) -> Path:
        """Store a package (a zip file or a folder) once, under its sha256.

        If it is already stored and intact, nothing is copied. If it is stored but
        damaged, the damaged copy is replaced by this one (logged as a warning). The copy
        is made in ``tmp/``, checked against ``sha256``, sealed read-only and renamed in.

        Parameters
        ----------
        source
            The package: a file (stored as ``<sha256>.zip`` whatever its content) or a
            folder (regular files only; links are not followed and not stored).
        sha256
            The package's sha256 (:func:`storage.files.package_sha256`).

        Returns
        -------
        Path
            The stored package.

        Raises
        ------
        FileNotFoundError
            If ``source`` does not exist.
        ValueError
            If what was copied does not hash to ``sha256``.
        """
        sha256 = check_sha256(sha256)
        source = Path(source)
        if source.is_dir():
            kind: Literal["zip", "dir"] = "dir"
        elif source.is_file():
            kind = "zip"
        else:
            raise FileNotFoundError(f"no package at {source}")
        target = self._raw_target(sha256, kind)
        damaged = False
        if os.path.lexists(target):
            try:
                digest, files, size = hash_package(target, kind)
            except OSError as exc:
                digest, files, size = f"unreadable: {exc}", {}, 0
            if digest == sha256:
                seal_top(target)
                record_package(self.catalogue, self.root, sha256, kind, target, files, size)
                return target
            log.warning("stored package %s is damaged (%s): restoring it", target, digest)
            damaged = True

        with temp_slot(self.tmp_dir, "raw", ".zip" if kind == "zip" else "") as work:
            if kind == "zip":
                digest, size = copy_file_durably(source, work)
                files = {}
            else:
                files = copy_tree_durably(source, work)
                digest = listing_sha256((rel, d) for rel, (d, _) in files.items())
                size = sum(s for _, s in files.values())
            if digest != sha256:
                raise ValueError(f"{source} hashes to {digest}, not {sha256}")
            _crash_point("raw:copied")
            seal(work, include_root=(kind == "zip"))
            if kind == "dir":
                fsync_tree(work)
            _crash_point("raw:sealed")
            makedirs_durably(target.parent)
            if damaged:
                self._swap_in(work, target, kind)
            elif kind == "zip":
                os.replace(work, target)  # same bytes if another process won the race
            else:
                try:
                    os.rename(work, target)
                except OSError as exc:  # another process stored it meanwhile
                    if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                        raise
                    if hash_package(target, kind)[0] != sha256:
                        raise StoreError(f"{target} appeared meanwhile and is damaged") from exc
            _crash_point("raw:renamed")
            fsync_dir(target.parent)
            seal_top(target)
            _crash_point("raw:synced")
        record_package(self.catalogue, self.root, sha256, kind, target, files, size)
        _crash_point("raw:recorded")
        return target

    def _swap_in(self, work: Path, target: Path, kind: str) -> None:
        """Replace a damaged stored package by a verified copy."""
        if kind == "zip":
            os.chmod(target, 0o600)
            os.replace(work, target)
            return
        with temp_slot(self.tmp_dir, "damaged") as old:
            os.chmod(target, 0o700)  # a folder must be writable to move to another parent
            os.rename(target, old)
            os.rename(work, target)

    def verify_raw(self, sha256: str) -> bool:
        """Re-hash a stored package; False if it is changed, unreadable or not stored."""
        path = self.raw_path(sha256)
        if path is None:
            return False
        kind = "zip" if path.name.endswith(".zip") else "dir"
        try:
            return hash_package(path, kind)[0] == check_sha256(sha256)
        except OSError:
            return False

    def packages(self) -> list[StoredPackage]:
        """Every catalogued raw package."""
        return self.catalogue.packages()

    # --- submissions and revisions --------------------------------------------------------

    # a submission is recorded by ``self.catalogue.record_submission`` (it checks its input)

    def latest_revision(self, project_id: str) -> int | None:
        """The project's highest revision number, or None."""
        return self.catalogue.latest_revision(project_id)

    def revisions(self, project_id: str | None = None) -> list[Revision]:
        """The revisions of a project (or of all projects), in order."""
        return self.catalogue.revisions(project_id)

    def submissions(self, project_id: str | None = None) -> list[Submission]:
        """Every submission attempt (of a project, or all), in the order recorded."""
        return self.catalogue.submissions(project_id)

    def projects(self) -> list[str]:
        """Every project with a revision."""
        return self.catalogue.projects()

    # --- products --------------------------------------------------------------------------

    def product_path(self, department: str, project_id: str, revision: int) -> Path:
        """Where a product is (or will be) published."""
        check_department(department)
        check_project_id(project_id)
        _check_revision(revision)
        return self.products_dir / department / project_id / f"r{revision}"

    def _product(self, record: ProductRecord) -> Product:
        return Product(
            department=record.department,
            project_id=record.project_id,
            revision=record.revision,
            path=self.root / record.path,
            manifest_sha256=record.manifest_sha256,
            file_count=record.file_count,
            size=record.size,
            published_at=record.published_at,
            status=record.status,
        )

    def products(
        self, department: str | None = None, project_id: str | None = None
    ) -> list[Product]:
        """Published products (not those flagged missing), by department, project, revision."""
        records = self.catalogue.products(department, project_id, statuses=VISIBLE_STATUSES)
        return [self._product(r) for r in records]

    def publish(
        self,
        department: str,
        project_id: str,
        revision: int,
        build: Callable[[Path], None],
    ) -> Path:
        """Publish one department's product of one revision, all at once or not at all.

        ``build(folder)`` writes the product's files into a fresh folder in ``tmp/``. The
        store then hashes them, writes ``MANIFEST.sha256``, seals and fsyncs everything and,
        under the catalogue's write lock, inserts the row, renames the folder to
        ``products/<department>/<project_id>/r<revision>``, fsyncs the parent and commits.

        If the product is already published, nothing is built or changed and its path is
        returned. If a complete product folder is there without a row (a crash between
        rename and commit), it is adopted as it is.

        Parameters
        ----------
        department
            One of :data:`DEPARTMENTS`.
        project_id, revision
            A revision recorded by :meth:`Catalogue.record_submission`.
        build
            Writes regular files (and folders) into the folder it is given. It must not
            write ``MANIFEST.sha256`` at the top.

        Returns
        -------
        Path
            The product folder.

        Raises
        ------
        LookupError
            If the revision is not recorded.
        ValueError
            If ``build`` wrote links, special files or unusable names.
        StoreError
            If something that is not a complete product occupies the product's place.
        """
        target = self.product_path(department, project_id, revision)
        record = self.catalogue.product(department, project_id, revision)
        if record is not None and record.status in VISIBLE_STATUSES and target.is_dir():
            return target
        if self.catalogue.revision(project_id, revision) is None:
            raise LookupError(f"{project_id} has no revision {revision}: record it first")

        with temp_slot(self.tmp_dir, "publish") as work:
            work.mkdir(mode=WORK_DIR_MODE)
            build(work)
            _crash_point("publish:built")
            files = _product_files(work)
            manifest_sha256 = write_manifest(work, {rel: d for rel, (d, _) in files.items()})
            _crash_point("publish:manifest_written")
            seal(work, include_root=False)  # the top must stay writable to be moved
            fsync_tree(work)
            _crash_point("publish:synced")
            makedirs_durably(target.parent)
            _crash_point("publish:parents_ready")
            key = (department, project_id, revision)
            with self.catalogue.transaction() as conn:
                record = Catalogue.product_in(conn, *key)
                if os.path.lexists(target):
                    # another process published it, or a crash left it without its row
                    if record is None or record.status not in VISIBLE_STATUSES:
                        adopt_product_in(conn, self.root, key, target)
                else:
                    put_product_row_in(
                        conn, self.root, key, target, files, manifest_sha256, "published"
                    )
                    _crash_point("publish:row_inserted")
                    os.rename(work, target)  # atomic; the target does not exist (checked
                    _crash_point("publish:renamed")  # under the write lock)
                    fsync_dir(target.parent)
                    _crash_point("publish:parent_synced")
            _crash_point("publish:committed")
        seal_top(target)
        return target

    @contextmanager
    def workspace(self, kind: str = "work") -> Iterator[Path]:
        """A private, empty folder in ``tmp/`` for work such as extracting a package.

        It is on the store's file system (so a rename from it into the store is atomic),
        removed on exit whatever happens, and left alone by :meth:`reconcile` for as long
        as this process lives; if the process dies, reconcile removes it.

        Parameters
        ----------
        kind
            A short lower-case word naming the work, used as the folder's prefix.
        """
        if not re.fullmatch(r"[a-z][a-z0-9]{0,15}", kind):
            raise ValueError(f"workspace kind must be a short lower-case word: {kind!r}")
        with temp_slot(self.tmp_dir, kind) as path:
            path.mkdir(mode=WORK_DIR_MODE)
            yield path

    def reader(self, department: str) -> DepartmentReader:
        """A read-only view of one department's products (see :class:`DepartmentReader`)."""
        return DepartmentReader(self, check_department(department))

    # --- maintenance -----------------------------------------------------------------------

    def reconcile(self) -> ReconcileReport:
        """Make the catalogue agree with the files after a crash; remove dead temp work.

        * temp work of dead processes is removed (live work, whose lock is held, is kept);
        * a stored package without its row gets one if it hashes right;
        * a complete product folder without its row gets one (status ``recovered``);
        * a row whose folder is gone is flagged ``missing`` (and flipped back if the
          folder returns complete);
        * a stored package or product whose top folder a crash left writable is sealed.

        Nothing is deleted from ``raw/`` or ``products/``: what cannot be decided is
        reported in ``unresolved``. Safe to run while other processes work.
        """
        return reconcile(self)

    def verify_all(self) -> list[Damage]:
        """Re-hash every stored package and every published file against the record.

        Packages are checked against their names (their sha256) and, for folders, each
        file against the checksums recorded when it was stored; products against the
        checksums recorded at publication, and their ``MANIFEST.sha256`` against its
        recorded hash. Reports missing, changed, extra and unreadable things; changes
        nothing. Temp work is not checked.
        """
        return verify_all(self)
