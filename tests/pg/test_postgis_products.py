"""Department products in PostGIS: one schema per department, the contract's layers as
tables with the GeoPackages' columns, primary keys and GiST indexes, project and revision
on every row, one transaction per product, and a role per department that reads only its
own schema."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geoalchemy2  # noqa: F401 - lets SQLAlchemy reflect the geometry columns
import pyogrio
import pytest
import sqlalchemy as sa

from storage.postgis import PostgisProducts, role_name

PROJECT = "LC-KFQ-2022-0137"


@pytest.fixture(scope="module")
def gpkgs(sample_s, tmp_path_factory) -> dict[str, Path]:
    from engine.precheck import precheck
    from outputs import products
    from outputs.gpkg import Provenance
    from schemas.profile import load_profile

    tmp = tmp_path_factory.mktemp("pg-products")
    result = precheck(sample_s, load_profile(), tmp / "work")
    provenance = Provenance(
        PROJECT, 1, "ab" * 32, "1.0.0", "liaocheng",
        dt.datetime(2026, 9, 14, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8))),
    )  # fmt: skip
    out: dict[str, Path] = {}
    for dep, build in (
        ("planning", products.build_planning),
        ("registration", products.build_registration),
        ("housing", products.build_housing),
    ):
        folder = tmp / dep
        folder.mkdir()
        build(result, folder, provenance)
        out[dep] = folder / products.GPKG[dep]
    return out


def _layers(gpkg: Path) -> list[str]:
    return [str(n) for n, _ in pyogrio.list_layers(gpkg) if n != "layer_styles"]


def test_each_layer_is_a_table_with_the_gpkg_columns_keys_and_indexes(pg_url, gpkgs):
    pg = PostgisProducts(pg_url)
    written = pg.publish("planning", PROJECT, 1, [gpkgs["planning"]])
    engine = sa.create_engine(pg_url)
    inspector = sa.inspect(engine)
    assert set(inspector.get_table_names(schema="planning")) == set(_layers(gpkgs["planning"]))
    for layer in _layers(gpkgs["planning"]):
        info = pyogrio.read_info(gpkgs["planning"], layer=layer)
        cols = [c["name"] for c in inspector.get_columns(layer, schema="planning")]
        assert set(cols) >= {"fid", *info["fields"], "project_id", "revision"}, layer
        assert set(cols) - {"fid", "geom", *info["fields"]} <= {"project_id", "revision"}
        assert inspector.get_pk_constraint(layer, schema="planning")["constrained_columns"] == [
            "project_id",
            "revision",
            "fid",
        ]
        assert written[layer] == info["features"]
        if info["geometry_type"]:
            with engine.connect() as conn:
                index = (
                    conn.execute(
                        sa.text(
                            "SELECT indexdef FROM pg_indexes WHERE schemaname = 'planning'"
                            " AND tablename = :t"
                        ),
                        {"t": layer},
                    )
                    .scalars()
                    .all()
                )
                assert any("USING gist (geom)" in i for i in index), layer
                if info["features"]:
                    srid = conn.execute(
                        sa.text(f'SELECT DISTINCT ST_SRID(geom) FROM planning."{layer}" '
                                "WHERE geom IS NOT NULL")
                    ).scalars().all()  # fmt: skip
                    assert srid == [int(info["crs"].split(":")[1])] or srid == []
        else:
            assert "geom" not in cols
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT DISTINCT project_id, revision FROM planning.footprints")
        ).all()
        assert rows == [(PROJECT, 1)]
        count = conn.execute(sa.text("SELECT count(*) FROM planning.footprints")).scalar_one()
    assert count == written["footprints"] > 0
    # again: the same rows, not twice; another revision beside it
    assert pg.publish("planning", PROJECT, 1, [gpkgs["planning"]]) == written
    pg.publish("planning", PROJECT, 2, [gpkgs["planning"]])
    with engine.connect() as conn:
        assert conn.execute(
            sa.text("SELECT revision, count(*) FROM planning.footprints GROUP BY 1 ORDER BY 1")
        ).all() == [(1, count), (2, count)]
    engine.dispose()
    pg.close()


def test_a_product_is_published_whole_or_not_at_all(pg_url, gpkgs, monkeypatch):
    import storage.postgis as postgis

    pg = PostgisProducts(pg_url)
    real = postgis.pyogrio.read_dataframe
    seen: list[str] = []

    def failing(path, layer, **kw):
        seen.append(layer)
        if len(seen) == 3:
            raise OSError("disk went away")
        return real(path, layer=layer, **kw)

    monkeypatch.setattr(postgis.pyogrio, "read_dataframe", failing)
    with pytest.raises(OSError):
        pg.publish("registration", PROJECT, 1, [gpkgs["registration"]])
    monkeypatch.undo()
    engine = sa.create_engine(pg_url)
    assert sa.inspect(engine).get_table_names(schema="registration") == []
    engine.dispose()
    pg.close()


def test_a_department_role_reads_only_its_own_schema(pg_url, gpkgs):
    pg = PostgisProducts(pg_url)
    pg.ensure_departments()
    for dep in ("planning", "registration", "housing"):
        pg.publish(dep, PROJECT, 1, [gpkgs[dep]])
    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        conn.exec_driver_sql(f'SET ROLE "{role_name("registration")}"')
        assert conn.execute(sa.text("SELECT count(*) FROM registration.parcels")).scalar_one() >= 0
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.execute(sa.text("SELECT * FROM planning.footprints"))
        conn.rollback()
        conn.exec_driver_sql(f'SET ROLE "{role_name("registration")}"')
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.execute(sa.text("SELECT * FROM housing.units"))
        conn.rollback()
        conn.exec_driver_sql(f'SET ROLE "{role_name("planning")}"')
        assert conn.execute(sa.text("SELECT count(*) FROM planning.footprints")).scalar_one() > 0
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.execute(sa.text("INSERT INTO planning.indicators (fid) VALUES (1)"))
    engine.dispose()
    pg.close()
