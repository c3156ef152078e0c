"""The embedded store: raw packages, revisions, crash-safe publication, readers, audits."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

import storage.store as store_module
from storage.files import (
    LOCK_SUFFIX,
    MANIFEST_NAME,
    force_remove,
    package_sha256,
    read_manifest,
    temp_slot,
)
from storage.store import (
    PUBLISH_CRASH_POINTS,
    RAW_CRASH_POINTS,
    Damage,
    Store,
    StoreError,
    Submission,
)

PROJECT = "LC-KFQ-2022-0137"
SPAWN = multiprocessing.get_context("spawn")


# --- fixtures built in code ---------------------------------------------------------------


def make_dir_package(path: Path, variant: str = "a") -> Path:
    """A small package folder; ``variant`` changes one file's bytes."""
    files = {
        "manifest.json": json.dumps({"spec_version": "1", "project_id": PROJECT}),
        "report/项目信息.csv": f"字段,值\nXMBH,{PROJECT}\nXMMC,样例 {variant}\n",
        "drawings/site.dxf": "0\nSECTION\n0\nENDSEC\n0\nEOF\n",
        "drawings/floors/0001.dxf": f"0\nEOF\n{variant}\n",
        "attachments/empty.pdf": "",
    }
    for rel, text in files.items():
        p = path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return path


def make_zip_package(path: Path, variant: str = "a") -> Path:
    src = make_dir_package(path.with_suffix(".src"), variant)
    with zipfile.ZipFile(path, "w") as zf:
        for p in sorted(src.rglob("*")):
            if p.is_file():
                zf.write(p, f"{PROJECT}/{p.relative_to(src).as_posix()}")
    return path


# Names as a Linux disk holds them after a copy from Windows: GBK bytes (a file, and a file
# in a folder whose own name is GBK), and bytes that are neither UTF-8 nor GBK.
RAW_NAMES: tuple[bytes, ...] = (
    b"attachments/" + "说明.txt".encode("gbk"),
    b"attachments/" + "照片".encode("gbk") + b"/" + "东立面.jpg".encode("gbk"),
    b"attachments/\xff\xfe.txt",
)


def make_raw_name_package(path: Path, variant: str = "a") -> Path:
    """:func:`make_dir_package` plus a file at each of :data:`RAW_NAMES` (its own name)."""
    make_dir_package(path, variant)
    for name in RAW_NAMES:
        target = os.path.join(os.fsencode(path), name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as fh:
            fh.write(name + b"\n")
    return path


def raw_listing(root: Path) -> set[bytes]:
    """The relpath of every regular file under ``root``, as the bytes on disk."""
    top = os.fsencode(root)
    return {
        os.path.relpath(os.path.join(dirpath, name), top)
        for dirpath, _, names in os.walk(top)
        for name in names
    }


def relpath_types(store: Store, table: str) -> dict[str | bytes, str]:
    """``{relpath as the database holds it: its type}`` of ``package_files`` or
    ``product_files``: SQLite's storage class (``text``, ``blob``), or ``bytea`` on
    PostgreSQL, where every name is its bytes."""
    if not store.catalogue.is_sqlite:
        with store.catalogue.reading() as conn:
            rows = conn.exec_driver_sql(f"SELECT relpath, pg_typeof(relpath) FROM {table}")
            return {bytes(r[0]): str(r[1]) for r in rows}
    conn = sqlite3.connect(store.catalogue.path)
    try:
        return dict(conn.execute(f"SELECT relpath, typeof(relpath) FROM {table}").fetchall())
    finally:
        conn.close()


MAKERS: dict[str, Callable[[Path], Path]] = {
    "zip": lambda p: make_zip_package(p),
    "dir": lambda p: make_dir_package(p),
    "dir-raw-names": lambda p: make_raw_name_package(p),
}


def builder(marker: str) -> Callable[[Path], None]:
    """A product build writing three files (one in a subfolder) that name ``marker``."""

    def build(folder: Path) -> None:
        (folder / "findings.json").write_text(json.dumps({"marker": marker}), encoding="utf-8")
        (folder / "layers").mkdir()
        (folder / "layers" / "indicators.csv").write_text(f"marker\n{marker}\n", "utf-8")
        (folder / "opinion.html").write_bytes(f"<p>{marker}</p>".encode() * 100)

    return build


def record(store: Store, sha256: str, project: str = PROJECT, ruleset: str = "1.0.0") -> Submission:
    return store.catalogue.record_submission(
        project,
        sha256,
        ruleset,
        "liaocheng",
        "accepted",
        {"error": 0, "warning": 1, "info": 0},
        "聊城市某测绘有限公司",
        "2026-11-23T10:00:00+08:00",
    )


def fake_sha(n: int | str) -> str:
    return hashlib.sha256(str(n).encode()).hexdigest()


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    """(inode, mtime_ns, ctime_ns) of everything under ``root``: any change shows."""
    out = {".": (os.lstat(root).st_ino, os.lstat(root).st_mtime_ns, os.lstat(root).st_ctime_ns)}
    for p in root.rglob("*"):
        st = os.lstat(p)
        out[p.relative_to(root).as_posix()] = (st.st_ino, st.st_mtime_ns, st.st_ctime_ns)
    return out


def product_dirs(store: Store) -> set[tuple[str, str, int]]:
    return {
        (p.parts[-3], p.parts[-2], int(p.name[1:]))
        for p in store.products_dir.glob("*/*/r*")
        if not p.name.endswith(".case")  # an annex beside a product (test_annex.py)
    }


def assert_complete(folder: Path, marker: str) -> None:
    """The folder is a whole product: every file its manifest lists, with that checksum."""
    listed = read_manifest(folder)
    assert set(listed) == {"findings.json", "layers/indicators.csv", "opinion.html"}
    for rel, digest in listed.items():
        assert hashlib.sha256((folder / rel).read_bytes()).hexdigest() == digest
    assert json.loads((folder / "findings.json").read_text("utf-8")) == {"marker": marker}


def assert_consistent(store: Store) -> None:
    """Catalogue and files agree, nothing is damaged, no temp work is left."""
    assert store.verify_all() == []
    rows = {(p.department, p.project_id, p.revision) for p in store.products()}
    assert rows == product_dirs(store)
    assert list(store.tmp_dir.iterdir()) == []


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store")


class InjectedCrash(Exception):
    pass


def crash_at(point: str) -> Callable[[str], None]:
    def hook(name: str) -> None:
        if name == point:
            raise InjectedCrash(name)

    return hook


# --- set-up -------------------------------------------------------------------------------


@pytest.mark.sqlite_only
def test_store_creates_layout_and_wal_catalogue(tmp_path: Path) -> None:
    """SQLite only: the catalogue file itself, its WAL journal and schema version."""
    store = Store(tmp_path / "s")
    Store(tmp_path / "s")  # opening again changes nothing and does not fail
    assert {p.name for p in store.root.iterdir()} >= {"raw", "products", "tmp", "catalogue.sqlite"}
    assert {p.name for p in store.products_dir.iterdir()} == {
        "planning",
        "registration",
        "housing",
        "archive",
    }
    conn = sqlite3.connect(store.root / "catalogue.sqlite")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == ("3",)
    conn.close()


# --- raw packages ---------------------------------------------------------------------------


def test_put_raw_zip_is_stored_once_and_read_only(store: Store, tmp_path: Path) -> None:
    source = make_zip_package(tmp_path / "pkg.zip")
    sha = package_sha256(source)
    assert sha == hashlib.sha256(source.read_bytes()).hexdigest()

    path = store.put_raw(source, sha)

    assert path == store.raw_dir / sha[:2] / f"{sha}.zip"
    assert path.read_bytes() == source.read_bytes()
    assert mode(path) == 0o444
    before = snapshot(store.raw_dir)
    assert store.put_raw(source, sha) == path
    assert snapshot(store.raw_dir) == before
    assert [(p.sha256, p.kind, p.path) for p in store.packages()] == [
        (sha, "zip", f"raw/{sha[:2]}/{sha}.zip")
    ]
    assert store.verify_raw(sha) and store.raw_path(sha) == path
    assert list(store.tmp_dir.iterdir()) == []


def test_put_raw_dir_is_stored_once_and_read_only(store: Store, tmp_path: Path) -> None:
    source = make_dir_package(tmp_path / PROJECT)
    (source / "link.dxf").symlink_to(source / "drawings" / "site.dxf")  # never stored
    sha = package_sha256(source)

    path = store.put_raw(source, sha)

    assert path == store.raw_dir / sha[:2] / sha
    stored = sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())
    assert stored == [
        "attachments/empty.pdf",
        "drawings/floors/0001.dxf",
        "drawings/site.dxf",
        "manifest.json",
        "report/项目信息.csv",
    ]
    for p in [path, *path.rglob("*")]:
        assert mode(p) == (0o555 if p.is_dir() else 0o444), p
    assert (path / "report/项目信息.csv").read_bytes() == (
        source / "report/项目信息.csv"
    ).read_bytes()
    before = snapshot(store.raw_dir)
    assert store.put_raw(source, sha) == path
    assert snapshot(store.raw_dir) == before
    assert [(p.kind, p.file_count) for p in store.packages()] == [("dir", 5)]
    assert store.verify_raw(sha)


def test_directory_sha256_is_the_canonical_listing(tmp_path: Path) -> None:
    source = make_dir_package(tmp_path / "p")
    lines = sorted(
        f"{p.relative_to(source).as_posix()}\t{hashlib.sha256(p.read_bytes()).hexdigest()}\n"
        for p in source.rglob("*")
        if p.is_file()
    )
    expected = hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()
    assert package_sha256(source) == expected
    assert package_sha256(make_dir_package(tmp_path / "q", "b")) != expected


def test_put_raw_refuses_a_wrong_sha256(store: Store, tmp_path: Path) -> None:
    source = make_zip_package(tmp_path / "pkg.zip")
    with pytest.raises(ValueError, match="hashes to"):
        store.put_raw(source, fake_sha("other"))
    assert store.raw_path(fake_sha("other")) is None
    assert store.packages() == []
    assert list(store.tmp_dir.iterdir()) == []
    with pytest.raises(ValueError, match="sha256"):
        store.put_raw(source, "not-a-digest")


@pytest.mark.parametrize("kind", ["zip", "dir"])
def test_verify_raw_detects_a_changed_byte_and_put_raw_restores(
    store: Store, tmp_path: Path, kind: str
) -> None:
    source = (make_zip_package if kind == "zip" else make_dir_package)(tmp_path / "pkg")
    sha = package_sha256(source)
    path = store.put_raw(source, sha)
    damaged = path if kind == "zip" else path / "drawings" / "site.dxf"
    os.chmod(damaged, 0o644)
    data = bytearray(damaged.read_bytes())
    data[7] ^= 0x01
    damaged.write_bytes(bytes(data))

    assert store.verify_raw(sha) is False
    assert [(d.path, d.kind) for d in store.verify_all()] == [(damaged, "changed")]

    assert store.put_raw(source, sha) == path  # a good copy replaces the damaged one
    assert store.verify_raw(sha) and store.verify_all() == []
    assert mode(damaged) == 0o444
    assert list(store.tmp_dir.iterdir()) == []


def test_verify_raw_of_an_unknown_package_is_false(store: Store) -> None:
    assert store.verify_raw(fake_sha(1)) is False


def test_put_raw_dir_keeps_names_that_are_not_utf8(store: Store, tmp_path: Path) -> None:
    source = make_raw_name_package(tmp_path / "pkg")
    sha = package_sha256(source)

    path = store.put_raw(source, sha)

    assert raw_listing(path) == raw_listing(source) >= set(RAW_NAMES)  # byte for byte
    for name in RAW_NAMES:
        with open(os.path.join(os.fsencode(path), name), "rb") as fh:
            assert fh.read() == name + b"\n"
    assert {os.fsencode(rel) for rel in store.catalogue.package_files(sha)} == raw_listing(path)
    # UTF-8 names stay text, as every catalogue before this one wrote them; others are
    # kept as their bytes (PostgreSQL: every name as its bytes)
    utf8 = (
        "manifest.json",
        "report/项目信息.csv",
        "drawings/site.dxf",
        "drawings/floors/0001.dxf",
        "attachments/empty.pdf",
    )
    if store.catalogue.is_sqlite:
        expected = {**{name: "blob" for name in RAW_NAMES}, **{rel: "text" for rel in utf8}}
    else:
        expected = {n: "bytea" for n in (*RAW_NAMES, *(rel.encode() for rel in utf8))}
    assert relpath_types(store, "package_files") == expected
    assert store.verify_raw(sha) and store.verify_all() == []
    assert store.reconcile().unresolved == []
    before = snapshot(store.raw_dir)
    assert store.put_raw(source, sha) == path
    assert snapshot(store.raw_dir) == before
    assert [(p.kind, p.file_count) for p in store.packages()] == [("dir", 8)]


def test_verify_all_names_damaged_files_whose_names_are_not_utf8(
    store: Store, tmp_path: Path
) -> None:
    source = make_raw_name_package(tmp_path / "pkg")
    path = store.put_raw(source, package_sha256(source))
    changed, _, gone = (path / os.fsdecode(name) for name in RAW_NAMES)
    extra = path / os.fsdecode(b"attachments/" + "多余.txt".encode("gbk"))
    os.chmod(path, 0o755)
    os.chmod(path / "attachments", 0o755)
    os.chmod(changed, 0o644)
    changed.write_bytes(b"forged\n")
    gone.unlink()
    extra.write_bytes(b"x")

    assert sorted((d.path, d.kind) for d in store.verify_all()) == sorted(
        [(changed, "changed"), (gone, "missing"), (extra, "extra")]
    )


# --- revisions ------------------------------------------------------------------------------


def test_same_package_twice_keeps_its_revision(store: Store) -> None:
    first = record(store, fake_sha("a"))
    again = record(store, fake_sha("a"))

    assert (first.revision, first.is_new) == (1, True)
    assert (again.revision, again.is_new) == (1, False)
    assert [r.revision for r in store.revisions(PROJECT)] == [1]
    assert [(s.revision, s.is_new) for s in store.submissions(PROJECT)] == [(1, True), (1, False)]
    assert store.latest_revision(PROJECT) == 1
    assert store.revisions(PROJECT)[0].counts == {"error": 0, "warning": 1, "info": 0}


def test_changed_package_gets_the_next_revision_and_keeps_the_old(store: Store) -> None:
    record(store, fake_sha("a"))
    store.publish("planning", PROJECT, 1, builder("r1"))
    rev1 = store.revisions(PROJECT)[0]

    second = record(store, fake_sha("b"))
    store.publish("planning", PROJECT, 2, builder("r2"))

    assert (second.revision, second.is_new) == (2, True)
    assert store.revisions(PROJECT)[0] == rev1
    assert [(r.revision, r.package_sha256) for r in store.revisions(PROJECT)] == [
        (1, fake_sha("a")),
        (2, fake_sha("b")),
    ]
    assert_complete(store.product_path("planning", PROJECT, 1), "r1")
    assert_complete(store.product_path("planning", PROJECT, 2), "r2")
    assert store.latest_revision(PROJECT) == 2 and store.latest_revision("other") is None
    assert store.projects() == [PROJECT]


def test_same_package_under_new_rules_is_a_new_revision(store: Store) -> None:
    assert record(store, fake_sha("a"), ruleset="1.0.0").revision == 1
    assert record(store, fake_sha("a"), ruleset="1.1.0").revision == 2
    assert record(store, fake_sha("a"), ruleset="1.0.0").revision == 1


@pytest.mark.parametrize(
    ("project", "sha", "verdict"),
    [
        ("../etc", fake_sha(1), "accepted"),
        ("LC-KFQ\udcff", fake_sha(1), "accepted"),  # "\\udcff" in manifest.json
        ("LC-KFQ\ud800", fake_sha(1), "accepted"),
        (PROJECT, "xyz", "accepted"),
        (PROJECT, fake_sha(1), "maybe"),
    ],
)
def test_record_submission_refuses_bad_input(
    store: Store, project: str, sha: str, verdict: str
) -> None:
    with pytest.raises(ValueError):
        store.catalogue.record_submission(
            project, sha, "1.0.0", "liaocheng", verdict, {}, None, "2026"
        )
    assert store.submissions() == []


# --- publication ----------------------------------------------------------------------------


def test_publish_writes_a_sealed_product_with_manifest_and_row(store: Store) -> None:
    record(store, fake_sha("a"))
    path = store.publish("housing", PROJECT, 1, builder("r1"))

    assert path == store.root / "products" / "housing" / PROJECT / "r1"
    assert_complete(path, "r1")
    manifest = (path / MANIFEST_NAME).read_text("utf-8").splitlines()
    assert [line.split("  ")[1] for line in manifest] == [
        "findings.json",
        "layers/indicators.csv",
        "opinion.html",
    ]
    for p in [path, *path.rglob("*")]:
        assert mode(p) == (0o555 if p.is_dir() else 0o444), p
    [product] = store.products("housing")
    assert (product.project_id, product.revision, product.path) == (PROJECT, 1, path)
    assert (
        product.manifest_sha256 == hashlib.sha256((path / MANIFEST_NAME).read_bytes()).hexdigest()
    )
    assert product.file_count == 3 and product.status == "published"
    assert store.products("planning") == []
    assert_consistent(store)


def test_publish_keeps_names_that_are_not_utf8(store: Store, tmp_path: Path) -> None:
    source = make_raw_name_package(tmp_path / "pkg")
    record(store, fake_sha("a"))

    path = store.publish("archive", PROJECT, 1, lambda d: shutil.copytree(source, d / "package"))

    package = path / "package"
    assert raw_listing(package) == raw_listing(source)
    listed = read_manifest(path)
    assert {os.fsencode(rel) for rel in listed} == {b"package/" + n for n in raw_listing(source)}
    assert set(store.catalogue.product_files("archive", PROJECT, 1)) == set(listed)
    types = relpath_types(store, "product_files")
    if store.catalogue.is_sqlite:
        blobs = {n for n, t in types.items() if t == "blob"}
        assert blobs == {b"package/" + n for n in RAW_NAMES}
    else:  # every name as its bytes
        assert types == {os.fsencode(rel): "bytea" for rel in listed}
    assert store.verify_all() == []
    if shutil.which("sha256sum"):  # the manifest holds the names' bytes, as sha256sum wants
        subprocess.run(["sha256sum", "--quiet", "-c", MANIFEST_NAME], cwd=path, check=True)


def test_publish_twice_changes_nothing(store: Store) -> None:
    record(store, fake_sha("a"))
    path = store.publish("archive", PROJECT, 1, builder("r1"))
    before = snapshot(store.products_dir)
    row = store.products("archive")

    def must_not_run(folder: Path) -> None:
        raise AssertionError("build called for a published product")

    assert store.publish("archive", PROJECT, 1, must_not_run) == path
    assert snapshot(store.products_dir) == before
    assert store.products("archive") == row


def test_publish_needs_a_recorded_revision_and_a_known_department(store: Store) -> None:
    with pytest.raises(LookupError):
        store.publish("planning", PROJECT, 1, builder("x"))
    record(store, fake_sha("a"))
    with pytest.raises(ValueError):
        store.publish("finance", PROJECT, 1, builder("x"))
    with pytest.raises(ValueError):
        store.publish("planning", PROJECT, 0, builder("x"))
    assert product_dirs(store) == set()


@pytest.mark.parametrize("bad", ["raises", "symlink", "manifest"])
def test_a_failed_or_bad_build_publishes_nothing(store: Store, bad: str) -> None:
    record(store, fake_sha("a"))

    def build(folder: Path) -> None:
        builder("x")(folder)
        if bad == "raises":
            raise RuntimeError("build failed")
        if bad == "symlink":
            (folder / "link").symlink_to("/etc/passwd")
        if bad == "manifest":
            (folder / MANIFEST_NAME).write_text("forged")

    with pytest.raises((RuntimeError, ValueError)):
        store.publish("planning", PROJECT, 1, build)
    assert product_dirs(store) == set() and store.products() == []
    assert_consistent(store)


def _two_revisions(store: Store) -> None:
    """r1 published for planning; r2 recorded, about to be published."""
    record(store, fake_sha("a"))
    store.publish("planning", PROJECT, 1, builder("r1"))
    record(store, fake_sha("b"))


def _check_after_crash(store: Store, point: str) -> None:
    """After a crash at ``point`` and a reconcile: r1 intact, r2 whole or absent, and
    the catalogue agrees; publishing again completes r2 and changes nothing more."""
    published = PUBLISH_CRASH_POINTS.index(point) >= PUBLISH_CRASH_POINTS.index("publish:renamed")
    r2 = store.product_path("planning", PROJECT, 2)
    assert r2.exists() is published
    if published:
        assert_complete(r2, "r2")

    report = store.reconcile()

    assert_consistent(store)
    assert_complete(store.product_path("planning", PROJECT, 1), "r1")
    latest = store.reader("planning").latest(PROJECT)
    assert latest is not None and latest.revision == (2 if published else 1)
    assert_complete(latest.path, f"r{latest.revision}")
    if point in ("publish:renamed", "publish:parent_synced"):  # renamed, never committed
        assert report.recovered_products == [r2]
        assert store.products("planning")[-1].status == "recovered"
    else:
        assert report.recovered_products == []

    assert store.publish("planning", PROJECT, 2, builder("r2")) == r2
    assert_complete(r2, "r2")
    assert_consistent(store)
    assert store.reconcile().changed is False


@pytest.mark.parametrize("point", PUBLISH_CRASH_POINTS)
def test_publish_fails_at_each_step_all_or_nothing(
    store: Store, monkeypatch: pytest.MonkeyPatch, point: str
) -> None:
    _two_revisions(store)
    monkeypatch.setattr(store_module, "_crash_point", crash_at(point))
    with pytest.raises(InjectedCrash):
        store.publish("planning", PROJECT, 2, builder("r2"))
    monkeypatch.undo()
    _check_after_crash(store, point)


def _publish_and_die(root: str, point: str) -> None:
    """Child process: publish r2 and SIGKILL ourselves at ``point``."""

    def hook(name: str) -> None:
        if name == point:
            os.kill(os.getpid(), signal.SIGKILL)

    store_module._crash_point = hook
    Store(root).publish("planning", PROJECT, 2, builder("r2"))


@pytest.mark.parametrize("point", PUBLISH_CRASH_POINTS)
def test_publish_killed_at_each_step_all_or_nothing(store: Store, point: str) -> None:
    _two_revisions(store)
    child = SPAWN.Process(target=_publish_and_die, args=(str(store.root), point))
    child.start()
    child.join(60)
    assert child.exitcode == -signal.SIGKILL

    assert list(store.tmp_dir.iterdir()) != []  # the dead process left its work behind
    committed = point == "publish:committed"
    assert [p.revision for p in store.reader("planning").products()] == (
        [1, 2] if committed else [1]
    )
    _check_after_crash(store, point)


@pytest.mark.parametrize("kind", list(MAKERS))
@pytest.mark.parametrize("point", RAW_CRASH_POINTS)
def test_put_raw_fails_at_each_step_all_or_nothing(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, point: str, kind: str
) -> None:
    source = MAKERS[kind](tmp_path / "pkg")
    sha = package_sha256(source)
    monkeypatch.setattr(store_module, "_crash_point", crash_at(point))
    with pytest.raises(InjectedCrash):
        store.put_raw(source, sha)
    monkeypatch.undo()
    _check_raw_after_crash(store, source, sha, point)


def _put_raw_and_die(root: str, source: str, sha: str, point: str) -> None:
    def hook(name: str) -> None:
        if name == point:
            os.kill(os.getpid(), signal.SIGKILL)

    store_module._crash_point = hook
    Store(root).put_raw(Path(source), sha)


@pytest.mark.parametrize("kind", ["zip", "dir"])
@pytest.mark.parametrize("point", RAW_CRASH_POINTS)
def test_put_raw_killed_at_each_step_all_or_nothing(
    store: Store, tmp_path: Path, point: str, kind: str
) -> None:
    source = (make_zip_package if kind == "zip" else make_dir_package)(tmp_path / "pkg")
    sha = package_sha256(source)
    child = SPAWN.Process(target=_put_raw_and_die, args=(str(store.root), str(source), sha, point))
    child.start()
    child.join(60)
    assert child.exitcode == -signal.SIGKILL
    _check_raw_after_crash(store, source, sha, point)


def _check_raw_after_crash(store: Store, source: Path, sha: str, point: str) -> None:
    stored = RAW_CRASH_POINTS.index(point) >= RAW_CRASH_POINTS.index("raw:renamed")
    path = store.raw_path(sha)
    assert (path is not None) is stored
    assert store.verify_raw(sha) is stored

    report = store.reconcile()

    assert_consistent(store)
    assert [p.sha256 for p in store.packages()] == ([sha] if stored else [])
    if point in ("raw:renamed", "raw:synced"):
        assert report.recorded_packages == [path]
    stored_path = store.put_raw(source, sha)
    assert stored_path == store.raw_path(sha)
    assert store.verify_raw(sha)
    assert mode(stored_path) == (0o444 if source.is_file() else 0o555)
    assert_consistent(store)


# --- readers --------------------------------------------------------------------------------


def test_a_department_reads_only_its_own_products(store: Store) -> None:
    record(store, fake_sha("a"))
    for dep in ("planning", "housing"):
        store.publish(dep, PROJECT, 1, builder(dep))
    planning, housing = store.reader("planning"), store.reader("housing")
    [own] = planning.products()
    [other] = housing.products()

    assert (own.department, other.department) == ("planning", "housing")
    assert planning.files(own) == ["findings.json", "layers/indicators.csv", "opinion.html"]
    with planning.open(own, "findings.json") as f:
        assert json.load(f) == {"marker": "planning"}
    with planning.open_path(own.path / "layers" / "indicators.csv") as f:
        assert f.read() == b"marker\nplanning\n"

    with pytest.raises(PermissionError):
        planning.files(other)
    with pytest.raises(PermissionError):
        planning.open(other, "findings.json")
    with pytest.raises(PermissionError):
        planning.open_path(other.path / "findings.json")
    with pytest.raises(PermissionError):
        planning.open(own, "../../../housing/" + PROJECT + "/r1/findings.json")
    with pytest.raises(PermissionError):
        planning.open_path(store.root / "catalogue.sqlite")
    with pytest.raises(FileNotFoundError):
        planning.open(own, "nothing.txt")
    with pytest.raises(LookupError):
        planning.product(PROJECT, 2)
    with pytest.raises(ValueError):
        store.reader("finance")


def test_a_reader_does_not_see_an_uncommitted_product(store: Store) -> None:
    record(store, fake_sha("a"))
    folder = store.product_path("registration", PROJECT, 1)
    folder.mkdir(parents=True)
    builder("half")(folder)  # a folder in place with no catalogue row
    reader = store.reader("registration")
    assert reader.products() == [] and reader.latest(PROJECT) is None
    with pytest.raises(FileNotFoundError):
        reader.open_path(folder / "findings.json")
    # not a complete product (no manifest): reconcile leaves it for a person, publish refuses
    report = store.reconcile()
    assert [(d.path, d.kind) for d in report.unresolved] == [(folder, "extra")]
    assert [(d.path, d.kind) for d in store.verify_all()] == [(folder, "extra")]
    with pytest.raises(StoreError):
        store.publish("registration", PROJECT, 1, builder("r1"))


# --- audits ---------------------------------------------------------------------------------


def test_verify_all_reports_damaged_product_files(store: Store) -> None:
    record(store, fake_sha("a"))
    path = store.publish("planning", PROJECT, 1, builder("r1"))
    for d in (path, path / "layers"):
        os.chmod(d, 0o755)
    changed = path / "layers" / "indicators.csv"
    os.chmod(changed, 0o644)
    changed.write_text("marker\nforged\n", "utf-8")
    (path / "opinion.html").unlink()
    (path / "extra.txt").write_text("x")

    damages = store.verify_all()

    assert sorted((d.path, d.kind) for d in damages) == sorted(
        [(changed, "changed"), (path / "opinion.html", "missing"), (path / "extra.txt", "extra")]
    )
    assert all(isinstance(d, Damage) and d.detail for d in damages)


def test_verify_all_reports_a_forged_manifest_and_a_lost_product(store: Store) -> None:
    record(store, fake_sha("a"))
    path = store.publish("planning", PROJECT, 1, builder("r1"))
    lost = store.publish("housing", PROJECT, 1, builder("h"))
    os.chmod(path, 0o755)
    os.chmod(path / MANIFEST_NAME, 0o644)
    with open(path / MANIFEST_NAME, "a") as f:
        f.write(f"{fake_sha(0)}  ghost.txt\n")
    force_remove(lost)

    assert sorted((d.path, d.kind) for d in store.verify_all()) == [
        (lost, "missing"),
        (path / MANIFEST_NAME, "changed"),
    ]


def test_reconcile_flags_a_lost_product_and_publish_restores_it(store: Store) -> None:
    record(store, fake_sha("a"))
    path = store.publish("archive", PROJECT, 1, builder("r1"))
    force_remove(path)

    report = store.reconcile()

    assert report.missing_products == [path]
    assert store.reader("archive").products() == []
    flagged = store.catalogue.product("archive", PROJECT, 1)
    assert flagged is not None and flagged.status == "missing"
    assert store.publish("archive", PROJECT, 1, builder("r1")) == path
    assert_complete(path, "r1")
    assert_consistent(store)


def test_reconcile_removes_dead_work_and_keeps_live_work(store: Store) -> None:
    tmp = store.tmp_dir

    def work(name: str, lock: str | None, age: float = 0.0) -> None:
        (tmp / name).mkdir()
        (tmp / name / "f").write_text("x")
        os.chmod(tmp / name, 0o555)
        paths = [tmp / name]
        if lock is not None:
            paths.append(tmp / (name + LOCK_SUFFIX))
            paths[-1].write_text(lock)  # nobody holds it
        for p in paths:
            os.utime(p, (p.stat().st_mtime - age,) * 2)

    work("publish-dead", "12345\n")  # its owner locked it, wrote its pid and died
    work("publish-starting", "")  # owner between creating the lock and taking it: keep
    work("publish-died-starting", "", age=2 * 24 * 3600)  # … or died there long ago
    work("duoce-stray", None, age=2 * 24 * 3600)  # no lock file, stale: not ours
    work("duoce-fresh", None)  # no lock file, fresh: may be someone's live folder
    (tmp / ("raw-gone" + LOCK_SUFFIX)).write_text("12345\n")  # work already gone

    with temp_slot(tmp, "publish") as live:
        live.mkdir()
        with store.workspace("extract") as extract:
            (extract / "report.xlsx").write_text("x")
            report = store.reconcile()
            kept = {live.name, extract.name, "publish-starting"}
            assert sorted(p.name for p in tmp.iterdir()) == sorted(
                ["duoce-fresh", *kept, *(k + LOCK_SUFFIX for k in kept)]
            )
        assert sorted(p.name for p in report.removed_temp) == [
            "duoce-stray",
            "publish-dead",
            "publish-died-starting",
        ]
    assert sorted(p.name for p in tmp.iterdir()) == [
        "duoce-fresh",
        "publish-starting",
        "publish-starting" + LOCK_SUFFIX,
    ]


# --- several processes ------------------------------------------------------------------------


def _record_many(root: str, project: str, tag: str, n: int, barrier) -> list[tuple[str, int]]:
    store = Store(root)
    barrier.wait()
    out = []
    for i in range(n):
        sub = record(store, fake_sha(f"{tag}-{i}"), project=project)
        out.append((sub.package_sha256, sub.revision))
    return out


def _record_many_entry(root: str, project: str, tag: str, n: int, barrier, queue) -> None:
    queue.put(_record_many(root, project, tag, n, barrier))


def _run_two(target, args_a: tuple, args_b: tuple) -> list:
    barrier = SPAWN.Barrier(2)
    queue = SPAWN.Queue()
    procs = [
        SPAWN.Process(target=target, args=(*args, barrier, queue)) for args in (args_a, args_b)
    ]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    return results


N = 15


def test_two_processes_get_distinct_gap_free_revisions_for_one_project(store: Store) -> None:
    a, b = _run_two(
        _record_many_entry, (str(store.root), PROJECT, "a", N), (str(store.root), PROJECT, "b", N)
    )
    revisions = sorted(rev for _, rev in a + b)
    assert revisions == list(range(1, 2 * N + 1))
    assert {r.package_sha256: r.revision for r in store.revisions(PROJECT)} == dict(a + b)
    assert len(store.submissions(PROJECT)) == 2 * N
    # each process saw its own revisions increase
    assert all(x[1] < y[1] for run in (a, b) for x, y in zip(run, run[1:], strict=False))


def test_two_processes_on_two_projects_each_count_from_one(store: Store) -> None:
    a, b = _run_two(
        _record_many_entry, (str(store.root), "P-A", "a", N), (str(store.root), "P-B", "b", N)
    )
    assert [rev for _, rev in a] == list(range(1, N + 1))
    assert [rev for _, rev in b] == list(range(1, N + 1))
    assert store.latest_revision("P-A") == store.latest_revision("P-B") == N


def _store_and_record(root: str, source: str, barrier) -> tuple[Store, str, Submission]:
    """Child: store a package and record its submission, at the same time as another."""
    store = Store(root)
    sha = package_sha256(Path(source))
    barrier.wait()
    store.put_raw(Path(source), sha)
    return store, sha, record(store, sha)


def _submit_entry(root: str, source: str, barrier, queue) -> None:
    """Child: the whole submit path for one package, at the same time as another."""
    store, sha, sub = _store_and_record(root, source, barrier)
    for dep in ("planning", "registration", "housing", "archive"):
        store.publish(dep, PROJECT, sub.revision, builder(sha))
    queue.put((sha, sub.revision))


def test_two_processes_submitting_different_packages_both_land_intact(
    store: Store, tmp_path: Path
) -> None:
    a = make_zip_package(tmp_path / "a.zip", "a")
    b = make_dir_package(tmp_path / "b", "b")
    results = _run_two(_submit_entry, (str(store.root), str(a)), (str(store.root), str(b)))

    assert sorted(rev for _, rev in results) == [1, 2]
    for sha, rev in results:
        assert store.verify_raw(sha)
        for dep in ("planning", "registration", "housing", "archive"):
            product = store.reader(dep).product(PROJECT, rev)
            assert json.loads((product.path / "findings.json").read_text()) == {"marker": sha}
    assert len(store.products()) == 8
    assert_consistent(store)


def _submit_same_entry(root: str, source: str, barrier, queue) -> None:
    store, sha, sub = _store_and_record(root, source, barrier)
    paths = [str(store.publish(d, PROJECT, sub.revision, builder(sha))) for d in ("planning",)]
    queue.put((sub.revision, sub.is_new, paths))


def test_two_processes_submitting_the_same_package_publish_it_once(
    store: Store, tmp_path: Path
) -> None:
    source = make_dir_package(tmp_path / "same")
    results = _run_two(
        _submit_same_entry, (str(store.root), str(source)), (str(store.root), str(source))
    )

    assert sorted((rev, new) for rev, new, _ in results) == [(1, False), (1, True)]
    assert results[0][2] == results[1][2]
    assert [(p.project_id, p.revision) for p in store.products()] == [(PROJECT, 1)]
    assert len(store.packages()) == 1 and len(store.submissions()) == 2
    assert_complete(store.product_path("planning", PROJECT, 1), package_sha256(source))
    assert_consistent(store)


@pytest.mark.sqlite_only
def test_a_catalogue_of_schema_1_opens_unchanged_and_is_upgraded(tmp_path: Path) -> None:
    """SQLite only: a ``catalogue.sqlite`` written by the code before schema 2 (no
    provenance column, no revision_products, events or annexes; a BLOB name) opens, reads
    as it was written, and takes the new tables."""
    root = tmp_path / "store"
    root.mkdir()
    sha = fake_sha("a")
    conn = sqlite3.connect(root / "catalogue.sqlite")
    conn.executescript(
        f"""
        PRAGMA journal_mode = WAL;
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO meta VALUES ('schema_version', '1');
        CREATE TABLE packages (sha256 TEXT PRIMARY KEY, kind TEXT NOT NULL,
            path TEXT NOT NULL UNIQUE, size INTEGER NOT NULL, file_count INTEGER NOT NULL,
            stored_at TEXT NOT NULL);
        CREATE TABLE package_files (package_sha256 TEXT NOT NULL, relpath TEXT NOT NULL,
            sha256 TEXT NOT NULL, size INTEGER NOT NULL,
            PRIMARY KEY (package_sha256, relpath)) WITHOUT ROWID;
        CREATE TABLE revisions (project_id TEXT NOT NULL, revision INTEGER NOT NULL,
            package_sha256 TEXT NOT NULL, ruleset_version TEXT NOT NULL, profile TEXT NOT NULL,
            verdict TEXT NOT NULL, counts TEXT NOT NULL, firm TEXT, submitted_at TEXT NOT NULL,
            recorded_at TEXT NOT NULL, PRIMARY KEY (project_id, revision),
            UNIQUE (project_id, package_sha256, ruleset_version, profile));
        CREATE TABLE submissions (id INTEGER PRIMARY KEY AUTOINCREMENT,
            project_id TEXT NOT NULL, revision INTEGER NOT NULL, is_new INTEGER NOT NULL,
            package_sha256 TEXT NOT NULL, ruleset_version TEXT NOT NULL, profile TEXT NOT NULL,
            verdict TEXT NOT NULL, counts TEXT NOT NULL, firm TEXT, submitted_at TEXT NOT NULL,
            recorded_at TEXT NOT NULL);
        CREATE TABLE products (department TEXT NOT NULL, project_id TEXT NOT NULL,
            revision INTEGER NOT NULL, path TEXT NOT NULL UNIQUE, manifest_sha256 TEXT NOT NULL,
            file_count INTEGER NOT NULL, size INTEGER NOT NULL, published_at TEXT NOT NULL,
            status TEXT NOT NULL, PRIMARY KEY (department, project_id, revision));
        CREATE TABLE product_files (department TEXT NOT NULL, project_id TEXT NOT NULL,
            revision INTEGER NOT NULL, relpath TEXT NOT NULL, sha256 TEXT NOT NULL,
            size INTEGER NOT NULL, PRIMARY KEY (department, project_id, revision, relpath))
            WITHOUT ROWID;
        INSERT INTO packages VALUES ('{sha}', 'dir', 'raw/{sha[:2]}/{sha}', 3, 2, 't0');
        INSERT INTO revisions VALUES ('{PROJECT}', 1, '{sha}', 'r1', 'p', 'accepted',
            '{{"error": 0}}', '某测绘', 't1', 't1');
        INSERT INTO submissions VALUES (1, '{PROJECT}', 1, 1, '{sha}', 'r1', 'p', 'accepted',
            '{{"error": 0}}', '某测绘', 't1', 't1');
        INSERT INTO products VALUES ('planning', '{PROJECT}', 1,
            'products/planning/{PROJECT}/r1', '{"0" * 64}', 1, 3, 't2', 'published');
        """
    )
    conn.execute(
        "INSERT INTO package_files VALUES (?, ?, ?, 1), (?, ?, ?, 2)",
        (sha, "a/说明.txt", "1" * 64, sha, b"a/\xff.txt", "2" * 64),
    )
    conn.commit()
    conn.close()

    store = Store(root)

    assert store.catalogue.package_files(sha) == {"a/说明.txt": "1" * 64, "a/\udcff.txt": "2" * 64}
    [sub] = store.submissions(PROJECT)
    assert (sub.revision, sub.is_new, sub.counts, sub.firm) == (1, True, {"error": 0}, "某测绘")
    [product] = store.catalogue.products()
    assert (product.status, product.provenance_sha256) == ("published", None)
    assert store.catalogue.expected_products() == {} and store.catalogue.events() == []
    with sqlite3.connect(root / "catalogue.sqlite") as check:
        assert check.execute("SELECT value FROM meta").fetchone() == ("3",)
