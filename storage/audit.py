"""Auditing the store: what is damaged (``verify_all``), and making the catalogue agree
with the files after a crash (``reconcile``).

``verify_all`` changes nothing: it re-hashes every stored package and every published
file against what was recorded, checks that every product holds the products of its
revision's package (``PROVENANCE.json``) and that every revision has the products it was
to have, and every annex (a document sealed beside a product, ``r<N>.case/``) against its
record; it reports what it checked (:class:`VerifyReport`). ``reconcile`` never deletes
from ``raw/`` or ``products/``: it removes dead temp work, adds the rows a crash lost
(after checking the files, and re-creating a lost revision row from its products'
provenance), flags rows whose files are gone, and re-seals folders a crash left
writable. Whatever it cannot decide is reported as ``unresolved``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, TypeVar

from sqlalchemy.engine import Connection

from storage.catalogue import (
    DEPARTMENTS,
    VISIBLE_STATUSES,
    AnnexRecord,
    Catalogue,
    ProductRecord,
    ProductStatus,
    Revision,
    StoredPackage,
    db_errors,
    now_iso,
)
from storage.files import (
    MANIFEST_NAME,
    PROVENANCE_NAME,
    STORE_WRITTEN,
    check_project_id,
    file_sha256,
    folder_name,
    hash_files,
    hash_package,
    read_manifest,
    read_provenance,
    remove_orphans,
    scan_tree,
    seal_top,
)

DamageKind = Literal["missing", "changed", "extra", "unreadable", "incomplete", "foreign"]
ProductKey = tuple[str, str, int]  # department, project_id, revision
_Record = TypeVar("_Record", ProductRecord, AnnexRecord)
_Contents = TypeVar("_Contents")

_PREFIX_DIR = re.compile(r"[0-9a-f]{2}")
_PACKAGE_NAME = re.compile(r"([0-9a-f]{64})(\.zip)?")
_REVISION_DIR = re.compile(r"r([1-9][0-9]*)")
ANNEX_SUFFIX = ".case"  # products/<dep>/<folder>/r<N>.case/: the case's document
_ANNEX_DIR = re.compile(r"r([1-9][0-9]*)" + re.escape(ANNEX_SUFFIX))


class StoreLike(Protocol):
    """What the audit uses of :class:`storage.store.Store` (which it never imports): the
    store's folders and its catalogue."""

    root: Path
    raw_dir: Path
    products_dir: Path
    tmp_dir: Path
    catalogue: Catalogue | None  # None: a read-only audit found no readable catalogue


class StoreError(RuntimeError):
    """The store found something it cannot decide on alone (e.g. a folder in a product's
    place that is not a complete product). Run ``duoce verify-store``."""


@dataclass(frozen=True, slots=True)
class Damage:
    """One thing in the store that does not match what was recorded.

    ``kind``: ``missing`` (recorded, not there), ``changed`` (checksum differs),
    ``extra`` (there, not recorded), ``unreadable`` (cannot be read), ``incomplete`` (a
    revision without every product it was to have), ``foreign`` (a product folder holding
    the products of another package than its revision's).
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
    recovered_annexes: list[Path] = field(default_factory=list)
    restored_revisions: list[tuple[str, int]] = field(default_factory=list)
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
            or self.recovered_annexes
            or self.restored_revisions
            or self.missing_products
            or self.resealed
        )


KIND_TEXT: dict[str, str] = {
    "missing": "缺失",
    "changed": "已改变",
    "extra": "多余",
    "unreadable": "无法读取",
    "incomplete": "版本不完整",
    "foreign": "成果来源不符",
}


class VerifyReport(list[Damage]):
    """What :func:`verify_all` found (the list: every :class:`Damage`) and what it checked.

    A list, so code that took the damage list keeps working; the counts say how much was
    checked, :meth:`summary_lines` says it in Chinese.
    """

    def __init__(self, damages: list[Damage] | None = None, *, read_only: bool = False) -> None:
        super().__init__(damages or [])
        self.packages = 0  # raw packages re-hashed
        self.revisions = 0  # revisions whose products were checked for completeness
        self.products = 0  # product folders checked
        self.files = 0  # files re-hashed (package, product and annex files)
        self.annexes = 0  # annex folders checked (documents sealed beside products)
        self.catalogue_ok = True  # the catalogue could be read and passed quick_check
        self.read_only = read_only  # the store was read without writing anything

    def summary_lines(self) -> list[str]:
        """The Chinese lines that say what was checked and what was found."""
        lines = [
            f"已检查：原始成果包 {self.packages} 个，版本 {self.revisions} 个，"
            f"部门成果 {self.products} 份，文件 {self.files} 个，附件 {self.annexes} 份"
            + ("（成果库只读，未作任何改动）" if self.read_only else "")
        ]
        if not self.catalogue_ok:
            lines.append("目录库（catalogue.sqlite）损坏或无法读取：仅按文件自身的校验清单检查")
        if self:
            by_kind: dict[str, int] = {}
            for d in self:
                by_kind[d.kind] = by_kind.get(d.kind, 0) + 1
            parts = "，".join(f"{KIND_TEXT.get(k, k)} {n} 处" for k, n in sorted(by_kind.items()))
            lines.append(f"发现 {len(self)} 处损坏：{parts}")
        else:
            lines.append("全部完好")
        return lines


# --- checks of one folder ---------------------------------------------------------------


def compare_files(folder: Path, expected: dict[str, str], skip: set[str]) -> list[Damage]:
    """Damage of ``folder`` against ``{relpath: sha256}``; names in ``skip`` are ignored."""
    files, others, unreadable = scan_tree(folder)
    out: list[Damage] = []
    for rel, digest in sorted(expected.items()):
        path = files.get(rel)
        if path is None:
            out.append(Damage(folder / rel, "missing", "记录的文件不在"))
            continue
        try:
            actual = file_sha256(path)
        except OSError as exc:
            out.append(Damage(path, "unreadable", str(exc)))
            continue
        if actual != digest:
            out.append(Damage(path, "changed", f"sha256 {actual}，记录为 {digest}"))
    for rel in sorted(set(files) - set(expected) - skip):
        out.append(Damage(files[rel], "extra", "未记录的文件"))
    out += [Damage(folder / rel, "extra", "不是普通文件") for rel in others]
    out += [Damage(folder / rel, "unreadable", "目录无法列出") for rel in unreadable]
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
    damage = compare_files(folder, listed, set(STORE_WRITTEN))
    if damage:
        raise ValueError("; ".join(f"{d.kind} {d.path.name}: {d.detail}" for d in damage))
    files, _, _ = scan_tree(folder)
    for name in STORE_WRITTEN:
        files.pop(name, None)
    return hash_files(files), file_sha256(folder / MANIFEST_NAME)


def check_provenance(folder: Path, key: ProductKey, package_sha256: str) -> str:
    """Check that ``folder`` holds the products of ``key`` made from ``package_sha256``;
    return its ``PROVENANCE.json``'s sha256.

    Raises
    ------
    ValueError
        If it has no provenance, or its provenance names another department, project,
        revision or package.
    """
    fields = read_provenance(folder)
    if fields is None:
        raise ValueError(f"no {PROVENANCE_NAME}: its package cannot be told")
    department, project_id, revision = key
    said = (fields["department"], fields["project_id"], fields["revision"])
    if said != key:
        raise ValueError(f"{PROVENANCE_NAME} names {said}, not {key}")
    if fields["package_sha256"] != package_sha256:
        raise ValueError(
            f"holds the products of package {fields['package_sha256']}; the revision's "
            f"package is {package_sha256}"
        )
    return file_sha256(folder / PROVENANCE_NAME)


# --- catalogue rows from files ----------------------------------------------------------


def adopt_product_in(conn: Connection, root: Path, key: ProductKey, folder: Path) -> None:
    """Record a complete product folder found without its row, on ``conn`` (which holds
    the write lock), with status ``recovered``.

    Its ``PROVENANCE.json`` must name this department, project, revision and the
    revision's package: a folder left by another package (a catalogue rebuilt short
    gave its revision number to a new package) is never adopted.

    Raises
    ------
    StoreError
        If the folder is not a complete product, or not this revision's.
    """
    (files, manifest_sha256), provenance_sha256 = _adoptable(
        conn, key, folder, "product", complete_product
    )
    put_product_row_in(
        conn, root, key, folder, files, manifest_sha256, "recovered", provenance_sha256
    )


def _adoptable(
    conn: Connection,
    key: ProductKey,
    folder: Path,
    noun: str,
    complete: Callable[[Path], _Contents],
) -> tuple[_Contents, str]:
    """What ``complete`` reads of a folder found without its row (:func:`complete_product`
    or :func:`complete_annex`, its ``noun``) and its provenance's sha256, once the folder
    is known to be complete and this revision's, on ``conn``.

    Raises
    ------
    StoreError
        If the revision is not recorded or the folder is not complete;
        :class:`ForeignProduct` if its provenance names another revision's package.
    """
    package_sha256 = Catalogue.revision_package_in(conn, key[1], key[2])
    if package_sha256 is None:
        raise StoreError(f"{folder}: {key[1]} has no revision {key[2]} recorded")
    try:
        contents = complete(folder)
    except (ValueError, OSError) as exc:
        raise StoreError(f"{folder} is not a complete {noun}: {exc}") from exc
    try:
        provenance_sha256 = check_provenance(folder, key, package_sha256)
    except (ValueError, OSError) as exc:
        raise ForeignProduct(f"{folder} is not this revision's {noun}: {exc}") from exc
    return contents, provenance_sha256


class ForeignProduct(StoreError):
    """A product folder holds what another package (or no known package) produced."""


def put_product_row_in(
    conn: Connection,
    root: Path,
    key: ProductKey,
    folder: Path,
    files: dict[str, tuple[str, int]],
    manifest_sha256: str,
    status: ProductStatus,
    provenance_sha256: str | None = None,
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
        provenance_sha256=provenance_sha256,
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
    ``products/``; ``(path, None)`` for an entry that is not one.

    The project id is the one the folder's ``PROVENANCE.json`` names (a folder name is
    derived from the id, :func:`storage.files.folder_name`); a folder without provenance
    (published before it existed) is named by its id. A folder whose provenance does not
    fit its place, or cannot be read, is not a product folder."""
    for dep in sorted(products_dir.iterdir()):
        if dep.name not in DEPARTMENTS or not dep.is_dir() or dep.is_symlink():
            yield dep, None
            continue
        for project in sorted(dep.iterdir()):
            if not project.is_dir() or project.is_symlink():
                yield project, None
                continue
            for rev in sorted(project.iterdir()):
                if _ANNEX_DIR.fullmatch(rev.name):
                    continue  # an annex: scan_annexes
                m = _REVISION_DIR.fullmatch(rev.name)
                if m and rev.is_dir() and not rev.is_symlink():
                    yield rev, _product_key(rev, dep.name, project.name, int(m.group(1)))
                else:
                    yield rev, None


def scan_annexes(products_dir: Path) -> Iterator[tuple[Path, ProductKey | None]]:
    """``(path, (department, project_id, revision))`` of every annex folder
    (``products/<dep>/<folder>/r<N>.case/``); ``(path, None)`` for an entry named like
    one that is not one (not a folder, a link, no provenance or one that does not fit
    its place). Entries :func:`scan_products` reports as not product folders are not
    repeated here."""
    for dep in sorted(products_dir.iterdir()):
        if dep.name not in DEPARTMENTS or not dep.is_dir() or dep.is_symlink():
            continue
        for project in sorted(dep.iterdir()):
            if not project.is_dir() or project.is_symlink():
                continue
            for entry in sorted(project.iterdir()):
                m = _ANNEX_DIR.fullmatch(entry.name)
                if m is None:
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    key = _product_key(entry, dep.name, project.name, int(m.group(1)))
                    fields = _annex_fields(entry)
                    yield entry, key if fields is not None else None
                else:
                    yield entry, None


def _annex_fields(folder: Path) -> dict[str, object] | None:
    """An annex's provenance (it names the document), or None if it has none."""
    try:
        fields = read_provenance(folder)
    except (ValueError, OSError):
        return None
    if fields is None or not isinstance(fields.get("annex"), str):
        return None
    return fields


def complete_annex(folder: Path) -> tuple[str, str, int, str]:
    """Check an annex folder against its own manifest: one document and nothing else.

    Returns
    -------
    tuple[str, str, int, str]
        The document's name, sha256 and size, and the manifest's sha256.

    Raises
    ------
    ValueError
        If the folder is not exactly its manifest, or does not hold exactly the one
        document its provenance names.
    """
    files, manifest_sha256 = complete_product(folder)
    fields = _annex_fields(folder)
    if fields is None:
        raise ValueError(f"no {PROVENANCE_NAME} naming its document")
    if list(files) != [fields["annex"]]:
        raise ValueError(f"holds {sorted(files)}, not the one document {fields['annex']!r}")
    name = str(fields["annex"])
    digest, size = files[name]
    return name, digest, size, manifest_sha256


def adopt_annex_in(conn: Connection, root: Path, key: ProductKey, folder: Path) -> None:
    """Record a complete annex folder found without its row (a crash between rename and
    commit), on ``conn`` holding the write lock, with status ``recovered``.

    Raises
    ------
    StoreError
        If it is not a complete annex; :class:`ForeignProduct` if its provenance names
        another revision's package.
    """
    (name, digest, size, manifest_sha256), provenance_sha256 = _adoptable(
        conn, key, folder, "annex", complete_annex
    )
    put_annex_row_in(
        conn, root, key, folder, name, digest, size, manifest_sha256, provenance_sha256,
        "recovered",
    )  # fmt: skip


def put_annex_row_in(
    conn: Connection,
    root: Path,
    key: ProductKey,
    folder: Path,
    name: str,
    sha256: str,
    size: int,
    manifest_sha256: str,
    provenance_sha256: str,
    status: ProductStatus,
) -> None:
    """Insert (or replace) the row of the annex ``folder``, stamped now, on ``conn``."""
    department, project_id, revision = key
    Catalogue.put_annex_in(
        conn,
        AnnexRecord(
            department=department,
            project_id=project_id,
            revision=revision,
            name=name,
            path=folder.relative_to(root).as_posix(),
            sha256=sha256,
            size=size,
            manifest_sha256=manifest_sha256,
            provenance_sha256=provenance_sha256,
            annexed_at=now_iso(),
            status=status,
        ),
    )


def _product_key(folder: Path, department: str, name: str, revision: int) -> ProductKey | None:
    try:
        fields = read_provenance(folder)
    except (ValueError, OSError):
        return None
    if fields is None:  # before provenance: the folder was named by the id itself
        try:
            return (department, check_project_id(name), revision)
        except ValueError:
            return None
    project_id = fields["project_id"]
    if (
        fields["department"] != department
        or fields["revision"] != revision
        or not isinstance(project_id, str)
        or name not in (folder_name(project_id), project_id)
    ):
        return None
    return (department, project_id, revision)


def revision_floor(products_dir: Path, project_id: str) -> int:
    """The highest revision number any product folder of ``project_id`` holds (0: none),
    whatever the catalogue says."""
    top = 0
    names = (
        {folder_name(project_id), project_id}
        if "/" not in project_id
        else {folder_name(project_id)}
    )
    for dep in DEPARTMENTS:
        for name in names:
            project = products_dir / dep / name
            try:
                entries = list(project.iterdir()) if project.is_dir() else []
            except OSError:
                continue
            for rev in entries:
                m = _REVISION_DIR.fullmatch(rev.name)
                if m:
                    top = max(top, int(m.group(1)))
    return top


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
    products = store.catalogue.products(statuses=VISIBLE_STATUSES)
    _flag_missing(
        store, products, on_disk, Catalogue.product_in, Catalogue.set_product_status_in, report
    )
    _reconcile_annexes(store, report)
    return report


def _flag_missing(
    store: StoreLike,
    records: list[ProductRecord] | list[AnnexRecord],
    on_disk: set[ProductKey],
    row_in: Callable[..., ProductRecord | AnnexRecord | None],
    set_status_in: Callable[..., None],
    report: ReconcileReport,
) -> None:
    """Flag ``missing`` each visible row (products or annexes, read on a connection by
    ``row_in``, changed by ``set_status_in``) whose folder is not on disk."""
    for record in records:
        key = (record.department, record.project_id, record.revision)
        if key in on_disk:
            continue
        with store.catalogue.transaction() as conn:  # re-check under the write lock
            current = row_in(conn, *key)
            path = store.root / record.path
            if current and current.status in VISIBLE_STATUSES and not path.exists():
                set_status_in(conn, *key, "missing")
                report.missing_products.append(path)


def _adopt_in(
    adopt: Callable[[Connection, Path, ProductKey, Path], None],
    conn: Connection,
    root: Path,
    key: ProductKey,
    path: Path,
    report: ReconcileReport,
) -> bool:
    """``adopt`` (:func:`adopt_product_in` or :func:`adopt_annex_in`) the folder at
    ``path``; False, the refusal reported as damage, if it is not adopted."""
    try:
        adopt(conn, root, key, path)
    except ForeignProduct as exc:
        report.unresolved.append(Damage(path, "foreign", str(exc)))
        return False
    except StoreError as exc:
        report.unresolved.append(Damage(path, "extra", str(exc)))
        return False
    return True


def _reconcile_annexes(store: StoreLike, report: ReconcileReport) -> None:
    """Annexes as products: a complete one without its row is adopted, a row whose
    folder is gone is flagged ``missing``, a top left writable is sealed."""
    on_disk: set[ProductKey] = set()
    for path, key in scan_annexes(store.products_dir):
        if key is None:
            report.unresolved.append(Damage(path, "extra", "not an annex folder"))
            continue
        on_disk.add(key)
        record = store.catalogue.annex(*key)
        if record is None or record.status not in VISIBLE_STATUSES:
            with store.catalogue.transaction() as conn:  # an annexer may be mid-commit
                record = Catalogue.annex_in(conn, *key)
                if record is None or record.status not in VISIBLE_STATUSES:
                    if not _adopt_in(adopt_annex_in, conn, store.root, key, path, report):
                        continue
                    report.recovered_annexes.append(path)
        if seal_top(path):
            report.resealed.append(path)
    annexes = store.catalogue.annexes(statuses=VISIBLE_STATUSES)
    _flag_missing(
        store, annexes, on_disk, Catalogue.annex_in, Catalogue.set_annex_status_in, report
    )


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


def _restore_revision_in(conn: Connection, folder: Path, key: ProductKey) -> bool:
    """Re-create the revision row of ``key`` from the folder's provenance if the
    catalogue lost it (it was rebuilt from the folders); True if it did."""
    try:
        fields = read_provenance(folder)
    except (ValueError, OSError):
        return False
    needed = ("ruleset_version", "profile", "verdict", "submitted_at")
    if fields is None or not all(isinstance(fields.get(k), str) for k in needed):
        return False
    if fields.get("verdict") not in ("accepted", "accepted_with_deficiencies", "rejected"):
        return False
    # not when the same package is recorded under another revision number
    restored = Catalogue.restore_revision_in(
        conn, {**fields, "project_id": key[1], "revision": key[2]}
    )
    expected = fields.get("expected_departments")
    package_sha256 = Catalogue.revision_package_in(conn, key[1], key[2])
    if isinstance(expected, list) and package_sha256 == fields["package_sha256"]:
        Catalogue.expect_products_in(  # the products the revision was to have, learnt again
            conn, key[1], key[2], [d for d in expected if d in DEPARTMENTS]
        )
    return restored


def _reconcile_product(
    store: StoreLike, path: Path, key: ProductKey, report: ReconcileReport
) -> None:
    record = store.catalogue.product(*key)
    if record is None or record.status not in VISIBLE_STATUSES:
        with store.catalogue.transaction() as conn:  # a publisher may be mid-commit
            record = Catalogue.product_in(conn, *key)
            if record is None or record.status not in VISIBLE_STATUSES:
                if _restore_revision_in(conn, path, key):
                    report.restored_revisions.append((key[1], key[2]))
                if not _adopt_in(adopt_product_in, conn, store.root, key, path, report):
                    return
                report.recovered_products.append(path)
    if seal_top(path):
        report.resealed.append(path)


# --- verify -------------------------------------------------------------------------------


def verify_all(store: StoreLike, *, read_only: bool = False) -> VerifyReport:
    """Every damage in the store, and what was checked. See
    :meth:`storage.store.Store.verify_all`.

    A catalogue that cannot be read (not a database, damaged, gone) is damage itself; the
    files are then checked against what they carry (a package against its name, a
    product against its ``MANIFEST.sha256`` and ``PROVENANCE.json``)."""
    catalogue_path = store.root / "catalogue.sqlite"
    report = VerifyReport(read_only=read_only)
    catalogue = store.catalogue
    if catalogue is not None:
        try:
            problems = catalogue.health()
            if problems:
                report.append(
                    Damage(catalogue.path, "changed", "目录库校验失败：" + "；".join(problems[:5]))
                )
            _verify_with_catalogue(store, catalogue, report)
            return report
        except db_errors() as exc:
            del report[:]
            report.packages = report.revisions = report.products = report.files = 0
            report.annexes = 0
            report.append(Damage(catalogue.path, "unreadable", f"目录库无法读取：{exc}"))
    else:
        report.append(Damage(catalogue_path, "unreadable", "目录库不存在或无法读取"))
    report.catalogue_ok = False
    _verify_files_only(store, report)
    return report


def _verify_with_catalogue(store: StoreLike, catalogue: Catalogue, report: VerifyReport) -> None:
    recorded = {p.sha256: p for p in catalogue.packages()}
    seen: set[str] = set()
    for path, sha256, kind in scan_raw(store.raw_dir):
        if sha256 is None or kind is None:
            report.append(Damage(path, "extra", "不是原始成果包"))
            continue
        seen.add(sha256)
        report += _verify_package(catalogue, path, sha256, kind, report)
    for sha256, package in recorded.items():
        if sha256 not in seen:
            report.append(Damage(store.root / package.path, "missing", "原始成果包不在"))

    revisions = {(r.project_id, r.revision): r for r in catalogue.revisions()}
    records = {(r.department, r.project_id, r.revision): r for r in catalogue.products()}
    on_disk, report.products = _verify_folders(
        store,
        scan_products(store.products_dir),
        records,
        "成果",
        lambda path, key, record: _verify_product(
            catalogue, path, record, revisions.get(key[1:]), report
        ),
        report,
    )
    _verify_annexes(store, catalogue, revisions, report)

    report.revisions = len(revisions)
    last_event: dict[ProductKey, str] = {}
    for event in catalogue.events():
        if event.kind in ("failed", "unrepairable", "refused"):
            last_event[(event.department, event.project_id, event.revision)] = event.detail
        else:
            last_event.pop((event.department, event.project_id, event.revision), None)
    for (project_id, revision), departments in sorted(catalogue.expected_products().items()):
        for department in sorted(departments):
            key = (department, project_id, revision)
            record = records.get(key)
            if record is not None and record.status in VISIBLE_STATUSES and key in on_disk:
                continue
            why = last_event.get(key)
            detail = f"项目 {project_id} 版本 r{revision} 缺少 {department} 成果" + (
                f"（发布失败：{why}）" if why else ""
            )
            where = store.products_dir / department / folder_name(project_id) / f"r{revision}"
            report.append(Damage(where, "incomplete", detail))


def _verify_annexes(
    store: StoreLike,
    catalogue: Catalogue,
    revisions: dict[tuple[str, int], Revision],
    report: VerifyReport,
) -> None:
    """Every annex folder against its record (its document, manifest and provenance)."""
    records = {(a.department, a.project_id, a.revision): a for a in catalogue.annexes()}
    _, report.annexes = _verify_folders(
        store,
        scan_annexes(store.products_dir),
        records,
        "附件",
        lambda path, key, record: _verify_annex(path, record, revisions.get(key[1:]), report),
        report,
    )


def _verify_folders(
    store: StoreLike,
    folders: Iterator[tuple[Path, ProductKey | None]],
    records: dict[ProductKey, _Record],
    noun: str,
    verify: Callable[[Path, ProductKey, _Record], list[Damage]],
    report: VerifyReport,
) -> tuple[set[ProductKey], int]:
    """Each folder found (products or annexes, ``noun`` in the damage) verified against
    its record by ``verify``, then each record whose folder is gone; the keys on disk and
    how many folders were checked."""
    on_disk: set[ProductKey] = set()
    checked = 0
    for path, key in folders:
        if key is None:
            report.append(
                Damage(path, "extra", f"不是{noun}目录（或其 PROVENANCE.json 与位置不符）")
            )
            continue
        on_disk.add(key)
        checked += 1
        record = records.get(key)
        if record is None:
            report.append(Damage(path, "extra", f"{noun}不在目录库中（可运行 reconcile）"))
            continue
        report += verify(path, key, record)
    for key, record in records.items():
        if key not in on_disk:
            report.append(Damage(store.root / record.path, "missing", f"{noun}目录不在"))
    return on_disk, checked


def _verify_annex(
    path: Path, record: AnnexRecord, revision: Revision | None, report: VerifyReport
) -> list[Damage]:
    out: list[Damage] = []
    for name, recorded in (
        (MANIFEST_NAME, record.manifest_sha256),
        (PROVENANCE_NAME, record.provenance_sha256),
    ):
        try:
            digest = file_sha256(path / name)
        except FileNotFoundError:
            out.append(Damage(path / name, "missing", "附件的校验清单或来源记录不在"))
        except OSError as exc:
            out.append(Damage(path / name, "unreadable", str(exc)))
        else:
            if digest != recorded:
                out.append(Damage(path / name, "changed", f"sha256 {digest}，记录为 {recorded}"))
    key = (record.department, record.project_id, record.revision)
    if revision is None:
        out.append(
            Damage(path, "foreign", f"目录库中没有 {record.project_id} 版本 r{record.revision}")
        )
    else:
        try:
            check_provenance(path, key, revision.package_sha256)
        except (ValueError, OSError) as exc:
            out.append(Damage(path / PROVENANCE_NAME, "foreign", f"附件来源不符：{exc}"))
    report.files += 1
    return out + compare_files(path, {record.name: record.sha256}, set(STORE_WRITTEN))


def _verify_package(
    catalogue: Catalogue, path: Path, sha256: str, kind: str, report: VerifyReport
) -> list[Damage]:
    report.packages += 1
    expected = catalogue.package_files(sha256) if kind == "dir" else {}
    if expected:  # name the files that differ
        report.files += len(expected)
        return compare_files(path, expected, set())
    return _hash_against_name(path, sha256, kind, report)


def _hash_against_name(path: Path, sha256: str, kind: str, report: VerifyReport) -> list[Damage]:
    try:
        digest, files, _ = hash_package(path, kind)
    except OSError as exc:
        return [Damage(path, "unreadable", str(exc))]
    report.files += len(files) if kind == "dir" else 1
    return [] if digest == sha256 else [Damage(path, "changed", f"内容的 sha256 为 {digest}")]


def _verify_product(
    catalogue: Catalogue,
    path: Path,
    record: ProductRecord,
    revision: Revision | None,
    report: VerifyReport,
) -> list[Damage]:
    out: list[Damage] = []
    manifest = path / MANIFEST_NAME
    try:
        digest = file_sha256(manifest)
    except FileNotFoundError:
        out.append(Damage(manifest, "missing", "校验清单不在"))
    except OSError as exc:
        out.append(Damage(manifest, "unreadable", str(exc)))
    else:
        if digest != record.manifest_sha256:
            detail = f"sha256 {digest}，记录为 {record.manifest_sha256}"
            out.append(Damage(manifest, "changed", detail))
    key = (record.department, record.project_id, record.revision)
    if revision is None:
        out.append(
            Damage(path, "foreign", f"目录库中没有 {record.project_id} 版本 r{record.revision}")
        )
    elif record.provenance_sha256 is not None or (path / PROVENANCE_NAME).exists():
        try:
            provenance = check_provenance(path, key, revision.package_sha256)
        except (ValueError, OSError) as exc:
            out.append(Damage(path / PROVENANCE_NAME, "foreign", f"成果来源不符：{exc}"))
        else:
            if record.provenance_sha256 not in (None, provenance):
                out.append(Damage(path / PROVENANCE_NAME, "changed", "来源记录已改变"))
    expected = catalogue.product_files(*key)
    report.files += len(expected)
    return out + compare_files(path, expected, set(STORE_WRITTEN))


def _verify_files_only(store: StoreLike, report: VerifyReport) -> None:
    """Without a catalogue: packages against their names, products against themselves."""
    for path, sha256, kind in scan_raw(store.raw_dir):
        if sha256 is None or kind is None:
            report.append(Damage(path, "extra", "不是原始成果包"))
            continue
        report.packages += 1
        report += _hash_against_name(path, sha256, kind, report)
    revisions: set[tuple[str, int]] = set()
    for path, key in scan_products(store.products_dir):
        if key is None:
            report.append(Damage(path, "extra", "不是成果目录（或其 PROVENANCE.json 与位置不符）"))
            continue
        report.products += 1
        revisions.add(key[1:])
        try:
            files, _ = complete_product(path)
        except (ValueError, OSError) as exc:
            report.append(Damage(path, "changed", f"与其校验清单不符：{exc}"))
            continue
        report.files += len(files)
    for path, key in scan_annexes(store.products_dir):
        if key is None:
            report.append(Damage(path, "extra", "不是附件目录（或其 PROVENANCE.json 与位置不符）"))
            continue
        report.annexes += 1
        try:
            complete_annex(path)
        except (ValueError, OSError) as exc:
            report.append(Damage(path, "changed", f"与其校验清单不符：{exc}"))
            continue
        report.files += 1
    report.revisions = len(revisions)
