"""The Prefect flows end to end: store once, check, record revisions, publish every product."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import psycopg
import pyogrio
import pytest
import sqlalchemy as sa

from engine.precheck import precheck, workspace
from outputs.results import findings_document
from schemas.profile import load_profile
from tests.pg.cluster import pg_server, pg_url  # noqa: F401 - the PostgreSQL backend's test

PLANNING_LAYERS = {"indicators", "site_boundary", "road_red_lines", "footprints", "green_areas", "setbacks", "findings"}
REGISTRATION_LAYERS = {"parcels", "boundary_points", "buildings", "floors", "units", "findings"}
HOUSING_LAYERS = {"units", "shared_parts", "findings"}


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def layers(path: Path) -> set[str]:
    """The data layers (QGIS's default styles live in ``layer_styles``, asserted present)."""
    names = {name for name, _ in pyogrio.list_layers(path)}
    assert "layer_styles" in names
    return names - {"layer_styles"}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return tmp_path_factory.mktemp("store")


def test_findings_document_has_the_contract_fields(sample_s, tmp_path):
    with workspace(tmp_path) as wd:
        result = precheck(sample_s, load_profile(), wd)
    doc = findings_document(result)
    for key in ("spec_version", "project_id", "package_sha256", "ruleset_version", "profile", "checked_at", "verdict", "counts", "findings"):
        assert key in doc
    assert doc["project_id"] == "LC-KFQ-2022-0137" and doc["verdict"] == "accepted"
    assert doc["counts"] == {"error": 0, "warning": 0, "info": 0}
    assert len(doc["package_sha256"]) == 64


def test_submit_publishes_four_products_and_resubmission_changes_nothing(prefect_harness, sample_s, store, tmp_path):
    from flows.pipeline import submit_package
    from storage.store import Store

    first = submit_package(str(sample_s), str(store), "liaocheng")
    assert first.revision == 1 and first.is_new
    assert set(first.published) == {"planning", "registration", "housing", "archive"}
    root = store / "products"
    planning = Path(first.published["planning"])
    assert layers(planning / "planning.gpkg") == PLANNING_LAYERS
    assert layers(Path(first.published["registration"]) / "registration.gpkg") == REGISTRATION_LAYERS
    assert layers(Path(first.published["housing"]) / "housing.gpkg") == HOUSING_LAYERS
    archive = Path(first.published["archive"])
    assert tree_digest(archive / "package" / sample_s.name) == tree_digest(sample_s) or (archive / "package").exists()
    assert json.loads((archive / "findings.json").read_text(encoding="utf-8"))["verdict"] == "accepted"
    for dep in first.published.values():
        assert (Path(dep) / "opinion.html").read_text(encoding="utf-8").count("联合验收意见") >= 1
    units = pyogrio.read_dataframe(Path(first.published["registration"]) / "registration.gpkg", layer="units")
    assert len(units) == 24
    setbacks = pyogrio.read_dataframe(planning / "planning.gpkg", layer="setbacks")
    assert setbacks["computed"].notna().all() and (setbacks["verdict"] == "符合").all()

    before = tree_digest(root)
    again = submit_package(str(sample_s), str(store), "liaocheng")
    assert (again.revision, again.is_new) == (1, False)
    assert tree_digest(root) == before  # nothing published changed
    assert len(Store(store).revisions("LC-KFQ-2022-0137")) == 1


def test_changed_package_makes_revision_two_and_keeps_one(prefect_harness, sample_s, store, tmp_path):
    from flows.pipeline import submit_package

    submit_package(str(sample_s), str(store), "liaocheng")
    r1 = tree_digest(store / "products" / "planning" / "LC-KFQ-2022-0137" / "r1")
    changed = tmp_path / sample_s.name
    shutil.copytree(sample_s, changed)
    (changed / "attachments").mkdir()
    (changed / "attachments" / "说明.txt").write_text("补充说明", encoding="utf-8")
    second = submit_package(str(changed), str(store), "liaocheng")
    assert (second.revision, second.is_new) == (2, True)
    assert any(f.code == "PKG-005" for f in second.result.findings)
    assert tree_digest(store / "products" / "planning" / "LC-KFQ-2022-0137" / "r1") == r1


def test_raw_package_is_stored_once_by_sha256(prefect_harness, sample_s, store):
    from storage.store import Store

    s = Store(store)
    stored = [p for p in s.packages()]
    shas = [p.sha256 for p in stored]
    assert len(shas) == len(set(shas)) >= 1
    assert all(s.verify_raw(sha) for sha in shas)


def test_check_flow_writes_findings_and_artifacts(prefect_harness, sample_s, tmp_path):
    from prefect.client.orchestration import get_client

    from flows.pipeline import check_package

    out = tmp_path / "findings.json"
    doc = check_package(str(sample_s), "liaocheng", str(out))
    assert json.loads(out.read_text(encoding="utf-8"))["verdict"] == doc["verdict"] == "accepted"

    import asyncio

    async def keys():
        async with get_client() as client:
            return {a.key for a in await client.read_artifacts()}

    found = asyncio.run(keys())
    assert "summary-lc-kfq-2022-0137" in found and "findings-lc-kfq-2022-0137" in found


def test_precheck_and_store_agree_on_a_folder_package_identity(prefect_harness, sample_s, tmp_path):
    """A folder holding the package in a top folder, beside OS litter: the sha256 the firm
    sees in its pre-check is the key the store keeps the package under."""
    from flows.pipeline import submit_package
    from storage.store import Store

    outer = tmp_path / "upload"
    shutil.copytree(sample_s, outer / sample_s.name)
    (outer / ".DS_Store").write_bytes(b"litter")
    with workspace(tmp_path) as wd:
        pre = precheck(outer, load_profile(), wd)
    sub = submit_package(str(outer), str(tmp_path / "store"), "liaocheng")
    assert pre.package.sha256 == sub.result.package.sha256
    assert Store(tmp_path / "store").verify_raw(pre.package.sha256)


def test_submit_of_a_package_whose_project_id_cannot_name_a_folder(prefect_harness, sample_s, tmp_path):
    """Submitted anyway: stored raw and rejected with PKG-002; no revision, nothing published."""
    from flows.pipeline import submit_package

    pkg = tmp_path / "pkg"
    shutil.copytree(sample_s, pkg)
    doc = json.loads((pkg / "manifest.json").read_text(encoding="utf-8"))
    doc["project_id"] = "LC/../../etc"
    (pkg / "manifest.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    store = tmp_path / "store"
    out = submit_package(str(pkg), str(store), "liaocheng")
    assert out.revision is None and out.published == {}
    assert out.result.verdict.verdict == "rejected"
    assert ("PKG-002", "project_id") in {(f.code, f.object.key) for f in out.result.findings}



@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (OSError(28, "No space left on device"), True),
        (sqlite3.OperationalError("database is locked"), True),
        (psycopg.OperationalError("connection to server lost"), True),
        (psycopg.errors.UniqueViolation("a bug"), False),
        (KeyError("a bug"), False),  # a second try of a bug is the same bug
    ],
)
def test_store_steps_retry_on_io_errors_only(error, retried):
    from prefect.states import Failed

    from flows.pipeline import on_io_error

    assert on_io_error(None, None, Failed(data=error)) is retried


# --- issue 14: Chinese ids, half-published revisions, a lost catalogue, a full disk -------

CHINESE_ID = "聊城开发区2022-0137号"


def chinese_package(out: Path) -> Path:
    """The sample package S whose project id is Chinese (manifest and report agree)."""
    import dataclasses

    from sample_data.generator import build_model, write_package

    model = build_model("S")
    model = dataclasses.replace(
        model, project_id=CHINESE_ID, info=dataclasses.replace(model.info, xmbh=CHINESE_ID)
    )
    return write_package(model, out)


def test_a_chinese_project_id_works_end_to_end(prefect_harness, tmp_path):
    from prefect.client.orchestration import get_client

    from flows.pipeline import submit_package
    from storage.files import ascii_key, read_provenance
    from storage.store import Store, verify_store

    pkg = chinese_package(tmp_path / "pkg")
    store = tmp_path / "store"
    out = submit_package(str(pkg), str(store), "liaocheng")
    assert out.result.package.project_id == CHINESE_ID
    assert (out.revision, out.is_new, out.failed) == (1, True, {})
    assert set(out.published) == {"planning", "registration", "housing", "archive"}
    for department, folder in out.published.items():
        assert Path(folder) == store / "products" / department / CHINESE_ID / "r1"
        assert read_provenance(Path(folder))["project_id"] == CHINESE_ID
    assert Store(store).projects() == [CHINESE_ID]
    assert verify_store(store) == []

    key = ascii_key(CHINESE_ID)
    with get_client(sync_client=True) as client:
        artifacts = {a.key for a in client.read_artifacts()}
        runs = [r for r in client.read_flow_runs() if r.name == f"提交-{CHINESE_ID}-r1"]
    assert {f"summary-{key}-r1", f"findings-{key}-r1"} <= artifacts
    [run] = runs
    assert {f"项目:{CHINESE_ID}", "verdict:accepted", "版本:r1"} <= set(run.tags)
    assert any(t.startswith("测绘单位:") for t in run.tags)


def test_a_half_published_revision_is_damage_and_a_resubmission_completes_it(
    prefect_harness, sample_s, tmp_path, monkeypatch
):
    import storage.store as store_module
    from flows.pipeline import submit_package
    from storage.store import Store, verify_store

    store = tmp_path / "store"
    real = Store.publish_product

    def archive_fails(self, department, *args, **kwargs):
        if department == "archive":
            raise ValueError("unusable file name in a product: 'a\\nb'")
        return real(self, department, *args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(store_module.Store, "publish_product", archive_fails)
        first = submit_package(str(sample_s), str(store), "liaocheng")
    assert set(first.published) == {"planning", "registration", "housing"}
    assert "archive" in first.failed
    assert any("archive 成果未发布" in line for line in first.summary_lines())
    report = verify_store(store)
    [damage] = report
    assert damage.kind == "incomplete" and "archive" in damage.detail and "unusable" in damage.detail

    before = tree_digest(store / "products" / "planning")
    again = submit_package(str(sample_s), str(store), "liaocheng")
    assert (again.revision, again.is_new, again.completed, again.failed) == (1, False, ["archive"], {})
    assert again.summary_lines()[0] == "版本 r1（与已有版本相同）"
    assert "补发了此版本缺少的成果：archive" in again.summary_lines()
    assert tree_digest(store / "products" / "planning") == before  # the rest untouched
    assert verify_store(store) == []
    assert [e.kind for e in Store(store).catalogue.events()] == ["failed"]


def test_a_full_disk_then_a_lost_catalogue_then_a_resubmission(
    prefect_harness, sample_s, tmp_path, monkeypatch
):
    """The disk fills while the archive product is written (every retry too), then the
    catalogue is lost; verify-store says so, and resubmitting once the disk has room
    makes the revision whole without changing what was published."""
    import errno

    import storage.store as store_module
    from flows.pipeline import submit_package
    from storage.store import Store, verify_store

    store = tmp_path / "store"
    real = store_module.write_manifest

    def full(folder, digests):
        if any(rel.startswith("package/") for rel in digests):  # the archive's manifest
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(folder, digests)

    with monkeypatch.context() as m:
        m.setattr(store_module, "write_manifest", full)
        with pytest.raises(OSError):
            submit_package(str(sample_s), str(store), "liaocheng")
    report = verify_store(store)
    assert [d.kind for d in report] == ["incomplete"] and "No space" in report[0].detail
    published = tree_digest(store / "products")
    assert len({p.split("/")[0] for p in published}) == 3

    for p in store.glob("catalogue.sqlite*"):
        p.unlink()
    Store(store).reconcile()  # the catalogue rebuilt from the folders knows r1 lacks archive
    assert [(d.kind, "archive" in d.detail) for d in verify_store(store)] == [("incomplete", True)]
    again = submit_package(str(sample_s), str(store), "liaocheng")
    assert again.revision == 1 and not again.is_new  # restored from the products' provenance
    assert again.completed == ["archive"]
    after = tree_digest(store / "products")
    assert {k: v for k, v in after.items() if k in published} == published  # nothing lost
    report = verify_store(store)
    assert report == [] and report.products == 4 and report.revisions == 1
    assert Store(store).missing_products(sample_s.name, 1) == []


# --- issue 13: the catalogue in PostgreSQL, the products also in PostGIS -----------------


def test_with_a_database_url_the_catalogue_is_there_and_the_products_also_in_postgis(
    prefect_harness, sample_s, tmp_path, pg_url, monkeypatch  # noqa: F811 - the fixture
):
    """``DUOCE_DATABASE_URL``: the revision is recorded in PostgreSQL (no catalogue.sqlite),
    every department's layers are copied into its schema with project and revision, and
    the GeoPackage files are still written; a resubmission copies the same rows again."""
    from flows.pipeline import submit_package
    from storage.store import Store

    monkeypatch.setenv("DUOCE_DATABASE_URL", pg_url)
    store = tmp_path / "store"
    first = submit_package(str(sample_s), str(store), "liaocheng")
    assert (first.revision, first.is_new, first.failed) == (1, True, {})
    assert not (store / "catalogue.sqlite").exists()
    assert [r.revision for r in Store(store).revisions("LC-KFQ-2022-0137")] == [1]
    assert layers(Path(first.published["planning"]) / "planning.gpkg") == PLANNING_LAYERS

    engine = sa.create_engine(pg_url)
    try:
        with engine.connect() as conn:
            tables = {
                (r.table_schema, r.table_name)
                for r in conn.execute(
                    sa.text(
                        "SELECT table_schema, table_name FROM information_schema.tables"
                        " WHERE table_schema IN ('planning', 'registration', 'housing', 'archive')"
                    )
                )
            }
            assert {("planning", t) for t in PLANNING_LAYERS} <= tables
            assert {("registration", t) for t in REGISTRATION_LAYERS} <= tables
            assert {("housing", t) for t in HOUSING_LAYERS} <= tables
            units = conn.execute(
                sa.text("SELECT DISTINCT project_id, revision FROM registration.units")
            ).all()
            assert units == [("LC-KFQ-2022-0137", 1)]
            count = conn.execute(sa.text("SELECT count(*) FROM registration.units")).scalar()
        gpkg_units = pyogrio.read_dataframe(
            Path(first.published["registration"]) / "registration.gpkg", layer="units"
        )
        assert count == len(gpkg_units) > 0

        again = submit_package(str(sample_s), str(store), "liaocheng")
        assert (again.revision, again.is_new, again.failed) == (1, False, {})
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM registration.units")).scalar() == count
    finally:
        engine.dispose()
