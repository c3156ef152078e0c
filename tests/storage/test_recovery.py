"""Issue 14: a revision is whole or said to be incomplete; a lost catalogue never files one
package's products under another's revision; a full disk at any write of publish loses
nothing; verify-store audits a read-only copy and a damaged catalogue."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

import storage.store as store_module
from storage.catalogue import metadata as catalogue_tables
from storage.files import (
    PROVENANCE_NAME,
    ascii_key,
    folder_name,
    read_manifest,
    read_provenance,
)
from storage.store import (
    DEPARTMENTS,
    ProductDiffers,
    Store,
    verify_store,
)

PROJECT = "LC-KFQ-2022-0137"
CHINESE = "聊城开发区2022-0137号"


def sha(n: str) -> str:
    return hashlib.sha256(n.encode()).hexdigest()


def builder(marker: str) -> Callable[[Path], None]:
    def build(folder: Path) -> None:
        (folder / "findings.json").write_text(json.dumps({"marker": marker}), encoding="utf-8")
        (folder / "layers").mkdir()
        (folder / "layers" / "indicators.csv").write_text(f"marker\n{marker}\n", "utf-8")

    return build


def record(store: Store, package: str, project: str = PROJECT) -> int:
    return store.record_submission(
        project,
        sha(package),
        "1.0.0",
        "liaocheng",
        "accepted",
        {"error": 0, "warning": 0, "info": 0},
        "聊城市某测绘有限公司",
        "2026-11-23T10:00:00+08:00",
    ).revision


def publish_all(store: Store, package: str, project: str = PROJECT) -> int:
    """Record ``package`` and publish every department's product of it."""
    revision = record(store, package, project)
    store.expect_products(project, revision, list(DEPARTMENTS))
    for department in DEPARTMENTS:
        store.publish(department, project, revision, builder(package))
    return revision


def marker_of(folder: Path) -> str:
    return json.loads((folder / "findings.json").read_text("utf-8"))["marker"]


def lose_catalogue(store: Store, how: str) -> None:
    """The catalogue lost: its file deleted or emptied; on PostgreSQL its tables dropped
    (the migrations make them again) or emptied."""
    if not store.catalogue.is_sqlite:
        tables = ", ".join(t.name for t in catalogue_tables.sorted_tables)
        with store.catalogue.transaction() as conn:
            if how == "deleted":
                conn.execute(sa.text(f"DROP TABLE {tables}, alembic_version CASCADE"))
            else:
                conn.execute(sa.text(f"TRUNCATE {tables} CASCADE"))
        return
    for suffix in ("", "-wal", "-shm"):
        path = store.catalogue.path.with_name(store.catalogue.path.name + suffix)
        if how == "deleted":
            path.unlink(missing_ok=True)
        elif suffix == "":
            path.write_bytes(b"")  # emptied
        else:
            path.unlink(missing_ok=True)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store")


# --- provenance, folder names ------------------------------------------------------------


def test_every_product_carries_its_provenance(store: Store) -> None:
    publish_all(store, "a")
    for department in DEPARTMENTS:
        folder = store.product_path(department, PROJECT, 1)
        fields = read_provenance(folder)
        assert fields is not None
        assert (fields["department"], fields["project_id"], fields["revision"]) == (
            department,
            PROJECT,
            1,
        )
        assert fields["package_sha256"] == sha("a")
        assert PROVENANCE_NAME not in read_manifest(folder)  # the store's own file, as the manifest
        assert stat.S_IMODE(os.lstat(folder / PROVENANCE_NAME).st_mode) == 0o444
    report = store.verify_all()
    assert report == [] and report.products == 4 and report.revisions == 1


def test_folder_names_and_keys_are_safe_for_any_id() -> None:
    assert folder_name(PROJECT) == PROJECT and folder_name(CHINESE) == CHINESE
    for bad in ("CON", "com1.txt", "a\u202eb", "x y", "ab.", "a\x85b", "e\u0301"):
        name = folder_name(bad)
        assert "~" in name and name.isprintable() and "/" not in name
        assert all(c.isalnum() or c in "-_~" for c in name)
    assert folder_name("a\u202eb") != folder_name("ab")
    for value in (PROJECT, CHINESE, "CON", "a\u202eb"):
        key = ascii_key(value)
        assert key and all(c in "abcdefghijklmnopqrstuvwxyz0123456789-" for c in key)
    assert ascii_key(PROJECT) == "lc-kfq-2022-0137"
    assert ascii_key(CHINESE) != ascii_key("2022-0137")


def test_a_chinese_project_id_is_kept_in_the_catalogue_and_the_products(store: Store) -> None:
    publish_all(store, "a", CHINESE)
    assert store.projects() == [CHINESE]
    [product] = store.products("archive")
    assert product.project_id == CHINESE and product.path.parent.name == CHINESE
    assert read_provenance(product.path)["project_id"] == CHINESE
    assert store.verify_all() == []


def test_names_a_manifest_cannot_carry_are_escaped_and_recorded(store: Store) -> None:
    record(store, "a")

    def build(folder: Path) -> None:
        (folder / "package").mkdir()
        (folder / "package" / "a\\b.txt").write_text("back", "utf-8")
        (folder / "package" / "line\nbreak.txt").write_text("newline", "utf-8")
        (folder / "package" / "cr\r.txt").write_text("cr", "utf-8")
        (folder / "package" / "plain%.txt").write_text("percent", "utf-8")

    path = store.publish("archive", PROJECT, 1, build)
    names = set(read_manifest(path))
    assert names == {
        "package/a%5Cb.txt",
        "package/line%0Abreak.txt",
        "package/cr%0D.txt",
        "package/plain%.txt",
    }
    assert (path / "package" / "line%0Abreak.txt").read_text("utf-8") == "newline"
    assert read_provenance(path)["renamed"] == {
        "package/a%5Cb.txt": "package/a\\b.txt",
        "package/cr%0D.txt": "package/cr\r.txt",
        "package/line%0Abreak.txt": "package/line\nbreak.txt",
    }
    assert store.verify_all() == []


# --- a lost or emptied catalogue ---------------------------------------------------------


@pytest.mark.parametrize("how", ["deleted", "emptied"])
def test_a_lost_catalogue_never_files_a_new_package_under_an_old_revision(
    tmp_path: Path, how: str
) -> None:
    store = Store(tmp_path / "store")
    publish_all(store, "a")
    lose_catalogue(store, how)

    store = Store(tmp_path / "store")
    report = store.reconcile()
    assert report.restored_revisions == [(PROJECT, 1)]
    assert len(report.recovered_products) == 4 and report.unresolved == []
    [r1] = store.revisions(PROJECT)
    assert r1.package_sha256 == sha("a") and r1.firm == "聊城市某测绘有限公司"

    assert publish_all(store, "b") == 2  # the next package is r2, never r1 again
    assert publish_all(store, "a") == 1  # the old package is still r1
    for department in DEPARTMENTS:
        assert marker_of(store.product_path(department, PROJECT, 1)) == "a"
        assert marker_of(store.product_path(department, PROJECT, 2)) == "b"
    assert store.verify_all() == []


def test_without_provenance_a_lost_catalogue_still_numbers_above_the_folders(
    tmp_path: Path,
) -> None:
    """Products published before provenance existed: the next revision is numbered above
    their folders and their folders are never adopted as the new package's."""
    store = Store(tmp_path / "store")
    publish_all(store, "a")
    for department in DEPARTMENTS:
        folder = store.product_path(department, PROJECT, 1)
        os.chmod(folder, 0o755)
        (folder / PROVENANCE_NAME).unlink()
        os.chmod(folder, 0o555)
    lose_catalogue(store, "deleted")

    store = Store(tmp_path / "store")
    report = store.reconcile()
    assert report.recovered_products == [] and len(report.unresolved) == 4
    assert publish_all(store, "b") == 2
    assert {p.revision for p in store.products()} == {2}
    for department in DEPARTMENTS:
        assert marker_of(store.product_path(department, PROJECT, 1)) == "a"  # untouched


def test_a_folder_of_another_package_is_refused_and_reported(store: Store) -> None:
    """A revision whose place holds another package's products: not adopted, recorded as
    refused, and verify-store reports it."""
    publish_all(store, "a")
    with store.catalogue.transaction() as conn:  # the catalogue forgot r1's products
        conn.execute(sa.text("DELETE FROM products"))
        conn.execute(sa.text("UPDATE revisions SET package_sha256 = :b"), {"b": sha("b")})
    with pytest.raises(store_module.ForeignProduct):
        store.publish("planning", PROJECT, 1, builder("b"))
    assert marker_of(store.product_path("planning", PROJECT, 1)) == "a"
    assert [e.kind for e in store.catalogue.events()] == ["refused"]
    report = verify_store(store.root)
    assert {d.kind for d in report} >= {"incomplete", "extra"}


# --- whole or incomplete -----------------------------------------------------------------


def test_an_incomplete_revision_is_damage_until_published(store: Store) -> None:
    revision = record(store, "a")
    store.expect_products(PROJECT, revision, list(DEPARTMENTS))
    store.publish("planning", PROJECT, revision, builder("a"))
    store.record_failure(PROJECT, revision, "archive", "OSError: disk full")

    report = verify_store(store.root)
    incomplete = sorted(d.detail for d in report if d.kind == "incomplete")
    assert len(incomplete) == 3 and len(report) == 3
    assert any("archive" in d and "disk full" in d for d in incomplete)
    assert store.missing_products(PROJECT, revision) == ["archive", "housing", "registration"]
    assert report.summary_lines()[-1].startswith("发现 3 处损坏")

    for department in ("registration", "housing", "archive"):
        assert store.publish_product(department, PROJECT, revision, builder("a")).action == "new"
    report = verify_store(store.root)
    assert report == [] and report.summary_lines()[-1] == "全部完好"
    assert "已检查：原始成果包 0 个，版本 1 个，部门成果 4 份" in report.summary_lines()[0]


def test_a_lost_product_is_restored_only_with_identical_bytes(store: Store) -> None:
    publish_all(store, "a")
    folder = store.product_path("housing", PROJECT, 1)
    manifest = (folder / "MANIFEST.sha256").read_bytes()
    shutil.rmtree(folder, onerror=lambda f, p, e: (os.chmod(Path(p).parent, 0o755), f(p)))
    assert {d.kind for d in verify_store(store.root)} >= {"missing", "incomplete"}

    with pytest.raises(ProductDiffers):
        store.publish_product("housing", PROJECT, 1, builder("other bytes"))
    assert not folder.exists()
    assert [e.kind for e in store.catalogue.events()] == ["unrepairable"]

    done = store.publish_product("housing", PROJECT, 1, builder("a"))
    assert done.action == "repaired" and (folder / "MANIFEST.sha256").read_bytes() == manifest
    assert [e.kind for e in store.catalogue.events()] == ["unrepairable", "repaired"]
    assert store.reconcile().unresolved == []
    assert store.verify_all() == []


def test_a_damaged_product_is_repaired_from_an_identical_rebuild(store: Store) -> None:
    publish_all(store, "a")
    target = store.product_path("registration", PROJECT, 1) / "layers" / "indicators.csv"
    os.chmod(target, 0o644)
    target.write_text("tampered", "utf-8")
    assert [d.kind for d in store.verify_all()] == ["changed"]

    with pytest.raises(ProductDiffers):  # a rebuild that differs leaves it as it is, said
        store.publish_product("registration", PROJECT, 1, builder("x"), verify=True)
    assert target.read_text("utf-8") == "tampered"

    done = store.publish_product("registration", PROJECT, 1, builder("a"), verify=True)
    assert done.action == "repaired"
    assert target.read_text("utf-8") == "marker\na\n"
    assert store.verify_all() == [] and list(store.tmp_dir.iterdir()) == []


# --- a full disk at every write of publish -------------------------------------------------

ENOSPC = OSError(errno.ENOSPC, "No space left on device")

# every call of publish that writes to the disk or the catalogue
WRITES = (
    "build",
    "escape_unsafe_names",
    "write_manifest",
    "write_provenance",
    "seal",
    "fsync_tree",
    "makedirs_durably",
    "put_product_row_in",
    "rename",
    "fsync_dir",
    "seal_top",
)


def _full_disk_at(monkeypatch: pytest.MonkeyPatch, write: str) -> Callable[[Path], None]:
    """Make ``write`` fail with ENOSPC; return the build to publish with."""
    build = builder("b")

    def fail(*args, **kwargs):
        raise OSError(ENOSPC.errno, ENOSPC.strerror)

    if write == "build":
        return lambda folder: (build(folder), fail())[0]
    if write == "rename":
        monkeypatch.setattr(store_module.os, "rename", fail)
    else:
        monkeypatch.setattr(store_module, write, fail)
    return build


@pytest.mark.parametrize("write", WRITES)
def test_a_full_disk_at_any_write_of_publish_loses_nothing(
    store: Store, monkeypatch: pytest.MonkeyPatch, write: str
) -> None:
    publish_all(store, "a")
    revision = record(store, "b")
    store.expect_products(PROJECT, revision, list(DEPARTMENTS))
    store.publish("planning", PROJECT, revision, builder("b"))
    before = {d: marker_of(store.product_path(d, PROJECT, 1)) for d in DEPARTMENTS}

    with monkeypatch.context() as m:
        build = _full_disk_at(m, write)
        with pytest.raises(OSError) as caught:
            store.publish("archive", PROJECT, revision, build)
        assert caught.value.errno == errno.ENOSPC
    store.record_failure(PROJECT, revision, "archive", str(caught.value))

    # what was published is all there; the half-published revision is damage
    assert {d: marker_of(store.product_path(d, PROJECT, 1)) for d in DEPARTMENTS} == before
    report = verify_store(store.root)
    kinds = {d.kind for d in report}
    assert "incomplete" in kinds and not kinds & {"changed", "missing"}, report
    if write == "seal_top":  # the folder was renamed and committed: only its seal is late
        assert not [d for d in report if d.kind == "incomplete" and "archive" in d.detail]

    # the disk has room again: a resubmission completes it
    store.reconcile()
    for department in DEPARTMENTS:
        store.publish_product(department, PROJECT, revision, builder("b"), verify=True)
    report = verify_store(store.root)
    assert report == [], report
    assert marker_of(store.product_path("archive", PROJECT, revision)) == "b"
    assert store.missing_products(PROJECT, revision) == []
    assert list(store.tmp_dir.iterdir()) == []


# --- verify-store: read-only copies and damaged catalogues ------------------------------


def _chmod_tree(root: Path, writable: bool) -> None:
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            p = os.path.join(dirpath, name)
            os.chmod(
                p, (os.lstat(p).st_mode | 0o200) if writable else (os.lstat(p).st_mode & ~0o222)
            )
        os.chmod(dirpath, 0o755 if writable else 0o555)


def _snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    return {
        str(p.relative_to(root)): (os.lstat(p).st_ino, os.lstat(p).st_mtime_ns, os.lstat(p).st_size)
        for p in [root, *root.rglob("*")]
    }


def test_verify_store_audits_a_read_only_backup_without_writing(
    store: Store, tmp_path: Path
) -> None:
    publish_all(store, "a")
    publish_all(store, "b")
    backup = tmp_path / "backup"
    shutil.copytree(store.root, backup, symlinks=True)
    _chmod_tree(backup, writable=False)
    try:
        before = _snapshot(backup)
        report = verify_store(backup)
        assert report == [] and report.read_only
        assert (report.revisions, report.products) == (2, 8)
        assert report.files == 16
        assert "成果库只读" in report.summary_lines()[0]
        assert _snapshot(backup) == before  # not even an -shm file beside the catalogue

        target = backup / "products" / "planning" / PROJECT / "r2" / "findings.json"
        os.chmod(target, 0o644)
        target.write_text("{}", "utf-8")
        os.chmod(target, 0o444)
        assert [d.kind for d in verify_store(backup)] == ["changed"]
    finally:
        _chmod_tree(backup, writable=True)


@pytest.mark.sqlite_only
@pytest.mark.parametrize("damage", ["garbage", "truncated", "deleted"])
def test_verify_store_reports_a_damaged_catalogue_as_damage(store: Store, damage: str) -> None:
    """SQLite only: the catalogue file's bytes are damaged."""
    publish_all(store, "a")
    path = store.catalogue.path
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    if damage == "garbage":
        path.write_bytes(b"this is not a database" * 300)
    elif damage == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:
        path.unlink()

    report = verify_store(store.root)
    assert report and not report.catalogue_ok
    assert report[0].path == path and report[0].kind in ("unreadable", "changed")
    assert report.products == 4  # the files were still checked, against themselves
    assert any("目录库" in line for line in report.summary_lines())


def test_verify_store_of_no_store_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        verify_store(tmp_path / "nothing")
