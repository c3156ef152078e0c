"""Documents annexed beside sealed products (the case's combined opinion): sealed folders
``r<N>.case/`` with their own manifest and provenance, recorded under the write lock,
audited by verify-store and reconcile, read by the department they belong to only."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

import storage.store as store_module
from storage.files import MANIFEST_NAME, PROVENANCE_NAME, force_remove, read_manifest
from storage.store import ANNEX_CRASH_POINTS, AnnexDiffers, Store, verify_store
from tests.storage.test_store import (
    PROJECT,
    SPAWN,
    InjectedCrash,
    assert_consistent,
    builder,
    crash_at,
    fake_sha,
    mode,
    record,
)

NAME = "联合验收意见书.html"
DOC = "<h1>联合验收意见书 联验〔2026〕1 号</h1>".encode()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    vault = Store(tmp_path / "store")
    record(vault, fake_sha("a"))
    for dep in ("planning", "archive"):
        vault.publish(dep, PROJECT, 1, builder("r1"))
    return vault


def test_an_annex_is_sealed_beside_the_product_and_audited(store: Store) -> None:
    product = store.product_path("planning", PROJECT, 1)
    before = {p.name: p.stat().st_mtime_ns for p in product.iterdir()}

    path = store.annex_product("planning", PROJECT, 1, NAME, DOC)

    assert path == product.with_name("r1.case") and (path / NAME).read_bytes() == DOC
    assert read_manifest(path) == {NAME: hashlib.sha256(DOC).hexdigest()}
    assert (path / PROVENANCE_NAME).is_file()
    assert mode(path) == mode(path / NAME) + 0o111 == 0o555  # sealed like a product
    assert {p.name: p.stat().st_mtime_ns for p in product.iterdir()} == before  # untouched
    # `sha256sum -c` works in the annex as in a product
    subprocess.run(["sha256sum", "--quiet", "-c", MANIFEST_NAME], cwd=path, check=True)
    # the same document again changes nothing; another one is refused
    assert store.annex_product("planning", PROJECT, 1, NAME, DOC) == path
    with pytest.raises(AnnexDiffers):
        store.annex_product("planning", PROJECT, 1, NAME, DOC + b"!")
    with pytest.raises(AnnexDiffers):
        store.annex_product("planning", PROJECT, 1, "other.html", DOC)
    [annex] = store.annexes("planning")
    assert (annex.project_id, annex.revision, annex.name, annex.status) == (
        PROJECT,
        1,
        NAME,
        "published",
    )
    report = store.verify_all()
    assert report == [] and report.annexes == 1 and report.products == 2
    assert "附件 1 份" in report.summary_lines()[0]
    assert_consistent(store)
    assert store.reconcile().changed is False


def test_bad_names_and_unknown_revisions_annex_nothing(store: Store) -> None:
    for bad in ("a/b.html", MANIFEST_NAME, PROVENANCE_NAME, "", "..", "a\nb"):
        with pytest.raises(ValueError):
            store.annex_product("planning", PROJECT, 1, bad, DOC)
    with pytest.raises(LookupError):
        store.annex_product("planning", PROJECT, 9, NAME, DOC)
    with pytest.raises(ValueError):
        store.annex_product("firm", PROJECT, 1, NAME, DOC)
    assert store.annexes() == [] and not list(store.products_dir.glob("*/*/*.case"))
    assert_consistent(store)


@pytest.mark.parametrize("damage", ["changed", "extra", "lost", "unrecorded"])
def test_a_damaged_annex_is_damage_to_verify_store(store: Store, damage: str) -> None:
    path = store.annex_product("archive", PROJECT, 1, NAME, DOC)
    os.chmod(path, 0o755)
    if damage == "changed":
        os.chmod(path / NAME, 0o644)
        (path / NAME).write_bytes(DOC + b"x")
    elif damage == "extra":
        (path / "x.txt").write_text("x")
    elif damage == "lost":
        force_remove(path)
    else:  # the row is gone: the folder is not in the catalogue
        with store.catalogue.transaction() as conn:
            conn.execute(sa.text("DELETE FROM product_annexes"))
    kinds = {d.kind for d in store.verify_all()}
    assert kinds == {"changed": {"changed"}, "extra": {"extra"}, "lost": {"missing"}}.get(
        damage, {"extra"}
    )
    assert verify_store(store.root) != []  # the command's audit sees it too
    if damage == "unrecorded":  # a crash's leftover: reconcile adopts it
        assert store.reconcile().recovered_annexes == [path]
        assert [a.status for a in store.annexes()] == ["recovered"]
        assert store.verify_all() == []
    if damage == "lost":  # flagged missing, then written again with the same bytes
        assert store.reconcile().missing_products == [path]
        assert store.annexes() == []
        assert store.annex_product("archive", PROJECT, 1, NAME, DOC) == path
        assert_consistent(store)


@pytest.mark.sqlite_only
def test_without_a_catalogue_annexes_are_checked_against_their_manifest(store: Store) -> None:
    """SQLite only: the catalogue file is deleted."""
    path = store.annex_product("archive", PROJECT, 1, NAME, DOC)
    (store.root / "catalogue.sqlite").unlink()
    for suffix in ("-wal", "-shm"):
        (store.root / f"catalogue.sqlite{suffix}").unlink(missing_ok=True)
    report = verify_store(store.root)
    assert report.annexes == 1 and {d.kind for d in report} == {"unreadable"}
    os.chmod(path, 0o755)
    os.chmod(path / NAME, 0o644)
    (path / NAME).write_bytes(b"forged")
    assert any(d.path == path and d.kind == "changed" for d in verify_store(store.root))


def test_a_department_reads_its_own_annexes_only(store: Store) -> None:
    store.annex_product("planning", PROJECT, 1, NAME, DOC)
    store.annex_product("archive", PROJECT, 1, NAME, DOC)
    planning, registration = store.reader("planning"), store.reader("registration")
    [annex] = planning.annexes(PROJECT)
    with planning.open_annex(annex) as fh:
        assert fh.read() == DOC
    with planning.open_path(annex.file) as fh:
        assert fh.read() == DOC
    assert registration.annexes() == []
    with pytest.raises(PermissionError):
        registration.open_annex(annex)
    with pytest.raises(PermissionError):
        registration.open_path(annex.file)
    [archived] = store.reader("archive").annexes()
    with pytest.raises(PermissionError):
        planning.open_annex(archived)


def _check_after_annex_crash(store: Store, point: str) -> None:
    renamed = ANNEX_CRASH_POINTS.index(point) >= ANNEX_CRASH_POINTS.index("annex:renamed")
    path = store.annex_path("planning", PROJECT, 1)
    assert path.exists() is renamed
    report = store.reconcile()
    assert report.recovered_annexes == ([path] if point == "annex:renamed" else [])
    assert store.verify_all() == [] and list(store.tmp_dir.iterdir()) == []
    assert store.annex_product("planning", PROJECT, 1, NAME, DOC) == path
    assert (path / NAME).read_bytes() == DOC
    assert_consistent(store)
    assert store.reconcile().changed is False


@pytest.mark.parametrize("point", ANNEX_CRASH_POINTS)
def test_annex_fails_at_each_step_all_or_nothing(
    store: Store, monkeypatch: pytest.MonkeyPatch, point: str
) -> None:
    monkeypatch.setattr(store_module, "_crash_point", crash_at(point))
    with pytest.raises(InjectedCrash):
        store.annex_product("planning", PROJECT, 1, NAME, DOC)
    monkeypatch.undo()
    _check_after_annex_crash(store, point)


def _annex_and_die(root: str, point: str) -> None:
    def hook(name: str) -> None:
        if name == point:
            os.kill(os.getpid(), signal.SIGKILL)

    store_module._crash_point = hook
    Store(root).annex_product("planning", PROJECT, 1, NAME, DOC)


@pytest.mark.parametrize("point", ANNEX_CRASH_POINTS)
def test_annex_killed_at_each_step_all_or_nothing(store: Store, point: str) -> None:
    child = SPAWN.Process(target=_annex_and_die, args=(str(store.root), point))
    child.start()
    child.join(60)
    assert child.exitcode == -signal.SIGKILL
    _check_after_annex_crash(store, point)
