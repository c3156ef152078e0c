"""The embedded store: one folder, nothing to install, safe against a crash at any step.

Layout
------
::

    store/
      raw/<sha256[:2]>/<sha256>.zip | <sha256>/     packages, once each, sealed read-only
      products/<department>/<folder>/r<revision>/     published products + MANIFEST.sha256
                                                     + PROVENANCE.json (<folder>: see
                                                     storage.files.folder_name)
      products/<department>/<folder>/r<revision>.case/  a document annexed beside the
                                                     product (the case's combined opinion)
                                                     + its MANIFEST.sha256, PROVENANCE.json
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

Every product carries ``PROVENANCE.json`` (department, project id, revision and the
package sha256 and check it came from), written in the temp folder and so published by
the same rename. A folder is adopted only when its provenance names its revision's
package; a catalogue lost or emptied is rebuilt from the folders with its revisions
(re-created from the provenance), and a new revision is numbered above every ``r<N>``
folder of its project, so one package's products are never filed under another's
revision. A revision's expected departments are recorded before the first is published
(:meth:`Store.expect_products`); what failed is recorded too (``publication_events``), so
an incomplete revision is damage to ``verify-store``. A product is never rebuilt with
other bytes under the same revision: a lost or damaged product is restored only when the
rebuild is identical (``repaired``), else it is said to be ``unrepairable``.

A document that comes after publication (the combined opinion of the revision's
acceptance case) is never added to the sealed product: :meth:`Store.annex_product` seals
it in a folder of its own beside it, ``r<N>.case/``, by the same protocol (temp folder,
manifest, provenance, row and rename under the write lock), and the audits check it as
they check a product.

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
import hashlib
import logging
import os
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from storage.audit import (
    ANNEX_SUFFIX,
    Damage,
    ForeignProduct,
    ReconcileReport,
    StoreError,
    VerifyReport,
    adopt_annex_in,
    adopt_product_in,
    compare_files,
    put_annex_row_in,
    put_product_row_in,
    reconcile,
    record_package,
    revision_floor,
    verify_all,
)
from storage.catalogue import (
    DEPARTMENTS,
    VISIBLE_STATUSES,
    AnnexRecord,
    Catalogue,
    ProductRecord,
    Revision,
    StoredPackage,
    Submission,
    configured_database_url,
    db_errors,
)
from storage.files import (
    STORE_WRITTEN,
    WORK_DIR_MODE,
    check_product_relpath,
    check_project_id,
    check_sha256,
    copy_file_durably,
    copy_tree_durably,
    escape_unsafe_names,
    folder_name,
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
    write_provenance,
)
from storage.reader import Annex, DepartmentReader, Product

__all__ = [
    "ANNEX_CRASH_POINTS",
    "Annex",
    "AnnexDiffers",
    "CRASH_POINTS",
    "DEPARTMENTS",
    "Damage",
    "DepartmentReader",
    "ForeignProduct",
    "Product",
    "ProductDiffers",
    "Published",
    "ReconcileReport",
    "Revision",
    "Store",
    "StoreError",
    "StoredPackage",
    "Submission",
    "VerifyReport",
    "verify_store",
]

log = logging.getLogger(__name__)

DEFAULT_ROOT = Path("store")
CATALOGUE_NAME = "catalogue.sqlite"
_View = TypeVar("_View", Product, Annex)

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
ANNEX_CRASH_POINTS: tuple[str, ...] = (
    "annex:synced",  # document, manifest and provenance written, sealed and fsynced
    "annex:row_inserted",  # inside BEGIN IMMEDIATE: row inserted, folder not moved
    "annex:renamed",  # folder moved into place, parent not fsynced, not committed
    "annex:committed",  # committed; top folder not yet sealed
)
CRASH_POINTS: tuple[str, ...] = RAW_CRASH_POINTS + PUBLISH_CRASH_POINTS + ANNEX_CRASH_POINTS


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
    for name in STORE_WRITTEN:
        if name in files:
            raise ValueError(f"{name} is written by the store, not by build()")
    for rel in files:
        check_product_relpath(rel)
    return hash_files(files)


class ProductDiffers(StoreError):
    """A product lost or damaged after publication would be rebuilt with other bytes: it
    is not replaced (a revision's products never change), and the event is recorded."""


class AnnexDiffers(StoreError):
    """Another document is already annexed to a product: an annex never changes."""


@dataclass(frozen=True, slots=True)
class Published:
    """What :meth:`Store.publish_product` did.

    ``action``: ``new`` (published now for the first time), ``unchanged`` (already
    published, nothing done), ``adopted`` (a complete folder of this revision was found
    without its row), ``repaired`` (a lost or damaged product restored with identical
    bytes).
    """

    path: Path
    action: str


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
    database_url
        The catalogue's database (``postgresql+psycopg://…``); default
        ``DUOCE_DATABASE_URL``, and without it ``catalogue.sqlite`` in the store. One
        database holds the catalogue of one store.
    """

    def __init__(
        self,
        root: Path | str = DEFAULT_ROOT,
        *,
        busy_timeout: float = 30.0,
        database_url: str | None = None,
    ) -> None:
        self.root = Path(root).absolute()
        self.raw_dir = self.root / "raw"
        self.products_dir = self.root / "products"
        self.tmp_dir = self.root / "tmp"
        for d in (self.raw_dir, self.tmp_dir, *(self.products_dir / d for d in DEPARTMENTS)):
            d.mkdir(parents=True, exist_ok=True)
        self.database_url = database_url or configured_database_url()
        self.catalogue = Catalogue(
            self.database_url or self.root / CATALOGUE_NAME, busy_timeout=busy_timeout
        )

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

    def record_submission(
        self,
        project_id: str,
        package_sha256: str,
        ruleset_version: str,
        profile: str,
        verdict: str,
        counts: dict[str, int],
        firm: str | None,
        submitted_at: str,
    ) -> Submission:
        """Record a submission (:meth:`Catalogue.record_submission`), a new revision
        numbered above every product folder the project already has."""
        return self.catalogue.record_submission(
            project_id,
            package_sha256,
            ruleset_version,
            profile,
            verdict,
            counts,
            firm,
            submitted_at,
            floor=revision_floor(self.products_dir, check_project_id(project_id)),
        )

    def expect_products(self, project_id: str, revision: int, departments: list[str]) -> None:
        """Record the departments a revision is to have products for, before publishing
        the first: until each is published the revision is incomplete (verify-store)."""
        for department in departments:
            check_department(department)
        if self.catalogue.revision(project_id, revision) is None:
            raise LookupError(f"{project_id} has no revision {revision}: record it first")
        self.catalogue.expect_products(project_id, revision, list(departments))

    def record_failure(self, project_id: str, revision: int, department: str, reason: str) -> bool:
        """Record that a product's publication failed; False if even that failed (the
        disk or the catalogue is what failed: the revision stays incomplete regardless)."""
        try:
            self.catalogue.add_event(project_id, revision, department, "failed", reason[:2000])
        except (OSError, *db_errors()) as exc:
            log.error(
                "cannot record the failed publication of %s r%d %s: %s",
                project_id,
                revision,
                department,
                exc,
            )
            return False
        return True

    def missing_products(self, project_id: str, revision: int) -> list[str]:
        """The departments a revision is to have and has no visible product for."""
        expected = self.catalogue.expected_products().get((project_id, revision), set())
        have = {
            p.department
            for p in self.products(project_id=project_id)
            if p.revision == revision and p.path.is_dir()
        }
        return sorted(expected - have)

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
        return self.products_dir / department / folder_name(project_id) / f"r{revision}"

    def _view(self, view: type[_View], record: ProductRecord | AnnexRecord) -> _View:
        """A catalogue record as the store shows it: the fields of ``view`` (:class:`Product`
        or :class:`Annex`), the path made absolute."""
        fields = {f: getattr(record, f) for f in view.__dataclass_fields__}
        return view(**{**fields, "path": self.root / record.path})

    def products(
        self, department: str | None = None, project_id: str | None = None
    ) -> list[Product]:
        """Published products (not those flagged missing), by department, project, revision."""
        records = self.catalogue.products(department, project_id, statuses=VISIBLE_STATUSES)
        return [self._view(Product, r) for r in records]

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
        return self.publish_product(department, project_id, revision, build).path

    def publish_product(
        self,
        department: str,
        project_id: str,
        revision: int,
        build: Callable[[Path], None],
        *,
        verify: bool = False,
    ) -> Published:
        """:meth:`publish`, saying what it did (:class:`Published`).

        A product whose row says it was published and whose folder is gone (or, with
        ``verify``, whose files no longer match their record) is rebuilt aside; the
        rebuild replaces it only when its manifest is identical to the recorded one
        (``repaired``), else nothing changes, ``unrepairable`` is recorded and
        :class:`ProductDiffers` raised. A folder in the product's place that holds
        another package's products is never adopted: ``refused`` is recorded and
        :class:`ForeignProduct` raised.

        Raises
        ------
        LookupError, ValueError, StoreError
            As :meth:`publish`.
        """
        target = self.product_path(department, project_id, revision)
        key = (department, project_id, revision)
        record = self.catalogue.product(*key)
        if record is not None and record.status in VISIBLE_STATUSES and target.is_dir():
            damage = self._product_damage(target, key) if verify else []
            if not damage:
                return Published(target, "unchanged")
        else:
            damage = []
        revision_row = self.catalogue.revision(project_id, revision)
        if revision_row is None:
            raise LookupError(f"{project_id} has no revision {revision}: record it first")
        recorded_manifest = record.manifest_sha256 if record is not None else None

        with temp_slot(self.tmp_dir, "publish") as work:
            work.mkdir(mode=WORK_DIR_MODE)
            build(work)
            _crash_point("publish:built")
            renamed = escape_unsafe_names(work)
            files = _product_files(work)
            manifest_sha256 = write_manifest(work, {rel: d for rel, (d, _) in files.items()})
            provenance_sha256 = write_provenance(
                work,
                _provenance(
                    department,
                    revision_row,
                    renamed,
                    self.catalogue.expected_products().get((project_id, revision), set()),
                ),
            )
            _crash_point("publish:manifest_written")
            if recorded_manifest is not None and manifest_sha256 != recorded_manifest:
                detail = (
                    f"重建的成果与原发布的不同（校验清单 sha256 {manifest_sha256}，"
                    f"原为 {recorded_manifest}）：未替换"
                )
                self.catalogue.add_event(project_id, revision, department, "unrepairable", detail)
                raise ProductDiffers(f"{target}: {detail}")
            seal(work, include_root=False)  # the top must stay writable to be moved
            fsync_tree(work)
            _crash_point("publish:synced")
            makedirs_durably(target.parent)
            _crash_point("publish:parents_ready")
            action = "new" if record is None else "repaired"
            with self.catalogue.transaction() as conn:
                current = Catalogue.product_in(conn, *key)
                if damage and os.path.lexists(target):
                    self._set_aside(target)  # identical rebuild: the damaged one goes
                if os.path.lexists(target):
                    # another process published it, or a crash left it without its row
                    if current is None or current.status not in VISIBLE_STATUSES:
                        try:
                            adopt_product_in(conn, self.root, key, target)
                        except ForeignProduct as exc:
                            refused = str(exc)
                        else:
                            refused = ""
                            action = "adopted"
                    else:
                        refused, action = "", "unchanged"
                else:
                    refused = ""
                    put_product_row_in(
                        conn,
                        self.root,
                        key,
                        target,
                        files,
                        manifest_sha256,
                        "published",
                        provenance_sha256,
                    )
                    _crash_point("publish:row_inserted")
                    os.rename(work, target)  # atomic; the target does not exist (checked
                    _crash_point("publish:renamed")  # under the write lock)
                    fsync_dir(target.parent)
                    _crash_point("publish:parent_synced")
            _crash_point("publish:committed")
        if refused:
            self.catalogue.add_event(project_id, revision, department, "refused", refused)
            raise ForeignProduct(refused)
        if action == "repaired":
            what = "损坏" if damage else "丢失"
            self.catalogue.add_event(
                project_id, revision, department, "repaired", f"{what}的成果已按原样重建"
            )
        seal_top(target)
        return Published(target, action)

    # --- annexes ---------------------------------------------------------------------------

    def annex_path(self, department: str, project_id: str, revision: int) -> Path:
        """Where the document annexed to a product is (or will be): ``r<N>.case/``."""
        product = self.product_path(department, project_id, revision)
        return product.with_name(product.name + ANNEX_SUFFIX)

    def annexes(self, department: str | None = None, project_id: str | None = None) -> list[Annex]:
        """Annexed documents (not those flagged missing), by department, project, revision."""
        records = self.catalogue.annexes(department, project_id, statuses=VISIBLE_STATUSES)
        return [self._view(Annex, r) for r in records]

    def annex_product(
        self, department: str, project_id: str, revision: int, name: str, data: bytes
    ) -> Path:
        """Seal one document beside a department's product of a revision, whole or not at
        all: ``products/<department>/<folder>/r<revision>.case/<name>``.

        The product itself is sealed and never changes; the annex is a folder of its own
        with its ``MANIFEST.sha256`` and ``PROVENANCE.json`` (the revision's package, and
        the document's name), written in ``tmp/``, sealed and fsynced, then recorded in
        ``product_annexes`` and renamed into place under the catalogue's write lock, as a
        product is published. The revision must be recorded; its product need not be
        published yet (the annex does not depend on it).

        The same document again changes nothing; a lost annex is written again (the
        same bytes); a crash between rename and commit is adopted by :meth:`reconcile`.

        Returns
        -------
        Path
            The annex folder.

        Raises
        ------
        ValueError
            ``name`` is not a plain file name (or one the store writes).
        LookupError
            The revision is not recorded.
        AnnexDiffers
            Another document (other name or other bytes) is annexed to this product.
        ForeignProduct, StoreError
            Something else occupies the annex's place.
        """
        if "/" in name or name in STORE_WRITTEN:
            raise ValueError(f"not a plain document name: {name!r}")
        check_product_relpath(name)
        name.encode("utf-8")  # a name the catalogue keeps as text
        data = bytes(data)
        target = self.annex_path(department, project_id, revision)
        key = (department, project_id, revision)
        digest = hashlib.sha256(data).hexdigest()

        def same(record: AnnexRecord) -> bool:
            if (record.name, record.sha256) == (name, digest):
                return True
            raise AnnexDiffers(
                f"{target}：已附有 {record.name}（sha256 {record.sha256}），"
                f"不能再附 {name}（sha256 {digest}）"
            )

        record = self.catalogue.annex(*key)
        if record is not None and record.status in VISIBLE_STATUSES and target.is_dir():
            same(record)
            return target
        revision_row = self.catalogue.revision(project_id, revision)
        if revision_row is None:
            raise LookupError(f"{project_id} has no revision {revision}: record it first")
        if record is not None:
            same(record)  # a lost annex comes back only as it was

        with temp_slot(self.tmp_dir, "annex") as work:
            work.mkdir(mode=WORK_DIR_MODE)
            with open(work / name, "xb") as fh:
                fh.write(data)
            manifest_sha256 = write_manifest(work, {name: digest})
            provenance_sha256 = write_provenance(
                work,
                {
                    "format": 1,
                    "annex": name,
                    "department": department,
                    "project_id": project_id,
                    "revision": revision,
                    "package_sha256": revision_row.package_sha256,
                },
            )
            seal(work, include_root=False)
            fsync_tree(work)
            _crash_point("annex:synced")
            makedirs_durably(target.parent)
            with self.catalogue.transaction() as conn:
                current = Catalogue.annex_in(conn, *key)
                if os.path.lexists(target):
                    if current is None or current.status not in VISIBLE_STATUSES:
                        adopt_annex_in(conn, self.root, key, target)  # raises if not whole
                        current = Catalogue.annex_in(conn, *key)
                    assert current is not None
                    same(current)
                else:
                    put_annex_row_in(
                        conn, self.root, key, target, name, digest, len(data),
                        manifest_sha256, provenance_sha256, "published",
                    )  # fmt: skip
                    _crash_point("annex:row_inserted")
                    os.rename(work, target)
                    _crash_point("annex:renamed")
                    fsync_dir(target.parent)
            _crash_point("annex:committed")
        seal_top(target)
        return target

    def _product_damage(self, folder: Path, key: tuple[str, str, int]) -> list[Damage]:
        """What differs in a published product folder from its record."""
        expected = self.catalogue.product_files(*key)
        return compare_files(folder, expected, set(STORE_WRITTEN))

    def _set_aside(self, target: Path) -> None:
        """Move a damaged product folder into tmp/ (removed with the slot)."""
        with temp_slot(self.tmp_dir, "damaged") as old:
            os.chmod(target, 0o700)
            os.rename(target, old)
            fsync_dir(target.parent)

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

    def verify_all(self) -> VerifyReport:
        """Re-hash every stored package and every published file against the record.

        Packages are checked against their names (their sha256) and, for folders, each
        file against the checksums recorded when it was stored; products against the
        checksums recorded at publication, their ``MANIFEST.sha256`` against its
        recorded hash and their ``PROVENANCE.json`` against their revision's package;
        every revision against the products it was to have. Reports missing, changed,
        extra, unreadable, incomplete and foreign things, with what was checked
        (:class:`VerifyReport`); changes nothing. Temp work is not checked.
        """
        return verify_all(self)


def _provenance(
    department: str, revision: Revision, renamed: dict[str, str], expected: set[str]
) -> dict[str, object]:
    """The ``PROVENANCE.json`` fields of one product of ``revision``."""
    fields: dict[str, object] = {
        "format": 1,
        "department": department,
        "project_id": revision.project_id,
        "revision": revision.revision,
        "package_sha256": revision.package_sha256,
        "ruleset_version": revision.ruleset_version,
        "profile": revision.profile,
        "verdict": revision.verdict,
        "counts": revision.counts,
        "firm": revision.firm,
        "submitted_at": revision.submitted_at,
    }
    if expected:  # the revision's products, so that a lost catalogue learns them again
        fields["expected_departments"] = sorted(expected)
    if renamed:  # names a manifest cannot carry, escaped: {published name: original}
        fields["renamed"] = dict(sorted(renamed.items()))
    return fields


@dataclass
class _AuditView:
    """A store read for an audit only: its folders, and its catalogue if readable."""

    root: Path
    raw_dir: Path
    products_dir: Path
    tmp_dir: Path
    catalogue: Catalogue | None


def verify_store(root: Path | str = DEFAULT_ROOT) -> VerifyReport:
    """``verify-store``: audit the store at ``root`` without writing to it.

    Works on a read-only store (a backup copy) and on one whose catalogue is damaged or
    gone (then that is damage, and the files are checked against what they carry). The
    catalogue of a writable store is read in place, read-only; that of a read-only store
    (no write bit on its folder), or one SQLite cannot open in place, is read from a
    private copy in the temp folder: nothing in the store is written, not even the
    ``-shm`` file SQLite keeps beside a WAL database.

    Raises
    ------
    FileNotFoundError
        If ``root`` is not a folder.
    """
    root = Path(root).absolute()
    if not root.is_dir():
        raise FileNotFoundError(f"no store at {root}")
    view = _AuditView(root, root / "raw", root / "products", root / "tmp", None)
    # read-only: no write bit on the folder (root may write anyway; it is not asked to)
    read_only = not (os.stat(root).st_mode & 0o222) or not os.access(root, os.W_OK)
    path = root / CATALOGUE_NAME
    url = configured_database_url()
    with tempfile.TemporaryDirectory(prefix="duoce-verify-") as scratch:
        try:
            if url:  # a database server: read in place, read-only
                view.catalogue = Catalogue.open_read_only(url)
            elif read_only:  # SQLite would need to create -shm beside it: read a copy
                view.catalogue = _catalogue_copy(path, Path(scratch))
            else:
                view.catalogue = Catalogue.open_read_only(path)
        except FileNotFoundError:
            view.catalogue = None
        except sqlite3.OperationalError:
            view.catalogue = _catalogue_copy(path, Path(scratch))
        except db_errors() as exc:
            log.warning("catalogue %s cannot be read: %s", url or path, exc)
            view.catalogue = None
        if not view.raw_dir.is_dir() or not view.products_dir.is_dir():
            report = VerifyReport(read_only=read_only)
            report.append(Damage(root, "missing", "成果库缺少 raw/ 或 products/ 目录"))
            return report
        return verify_all(view, read_only=read_only)


def _catalogue_copy(path: Path, scratch: Path) -> Catalogue | None:
    """A private copy of the catalogue (and its WAL) opened read-only, or None."""
    if not path.is_file():
        return None
    for suffix in ("", "-wal"):
        source = path.with_name(path.name + suffix)
        if source.exists():
            shutil.copyfile(source, scratch / (CATALOGUE_NAME + suffix))
    try:
        with sqlite3.connect(scratch / CATALOGUE_NAME) as conn:  # replays the WAL copy
            conn.execute("PRAGMA journal_mode = DELETE")
        return Catalogue.open_read_only(scratch / CATALOGUE_NAME)
    except sqlite3.DatabaseError as exc:
        log.warning("catalogue %s cannot be read: %s", path, exc)
        return None
