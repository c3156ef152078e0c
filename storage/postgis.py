"""Department products in PostGIS (issue 13; chosen by ``DUOCE_DATABASE_URL``).

The GeoPackages a product holds stay the archive's record; this copies each of their
layers into the department's own schema so that a department's QGIS reads the tables
directly:

* one schema per department (``planning``, ``registration``, ``housing``, ``archive``),
  one table per contract layer, named as the layer, with the GeoPackage's columns (read
  from the file: the store never imports the writers) and types (text, double precision,
  bigint …), the feature id ``fid``, and the geometry as ``geom`` of the layer's fixed
  type and the file's EPSG code, with a GiST index;
* ``project_id`` and ``revision`` on every row, the primary key ``(project_id,
  revision, fid)``; publishing a revision again replaces its rows by the same rows;
* one transaction per department product: every layer or none (a failure rolls back);
  DDL of one department is serialised by a transaction-level advisory lock;
* a role per department (``duoce_<department>``, NOLOGIN: grant it to the people's login
  roles) with USAGE on its schema and SELECT on its tables, and nothing on the others'
  (the schemas are closed to PUBLIC).

Nothing here runs unless a caller gives a PostgreSQL URL; the default store is SQLite and
GeoPackage only.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pyogrio
import shapely
import sqlalchemy as sa

from storage.catalogue import DEPARTMENTS

__all__ = ["ROLE_PREFIX", "PostgisProducts", "role_name"]

ROLE_PREFIX = "duoce_"
NOT_LAYERS = frozenset({"layer_styles"})  # QGIS's styles table, not a contract layer
_TYPES = {
    "object": "text",
    "str": "text",
    "string": "text",
    "float64": "double precision",
    "float32": "real",
    "int64": "bigint",
    "int32": "integer",
    "int16": "smallint",
    "bool": "boolean",
    "datetime64[ms]": "timestamp",
    "datetime64[ns]": "timestamp",
}
_EPSG = re.compile(r"EPSG:(\d+)")


def role_name(department: str) -> str:
    """The database role that may read ``department``'s schema."""
    return ROLE_PREFIX + _department(department)


def _department(department: str) -> str:
    if department not in DEPARTMENTS:
        raise ValueError(f"unknown department {department!r}; one of {DEPARTMENTS}")
    return department


def _q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _geometry_type(value: str | None) -> str | None:
    """``geometry(<type>)`` of a GeoPackage layer's type (``Point Z`` → ``PointZ``)."""
    if not value or value.lower() in ("unknown", "none"):
        return None if not value or value.lower() == "none" else "Geometry"
    return value.replace(" ", "")


def _value(v: Any) -> Any:
    """A cell as the driver takes it: NaN, NaT and NA as NULL, numpy scalars as Python's."""
    if v is None or (pd.api.types.is_scalar(v) and pd.isna(v)):
        return None
    if hasattr(v, "item"):  # numpy scalar
        v = v.item()
    if hasattr(v, "to_pydatetime"):
        v = v.to_pydatetime()
    return None if isinstance(v, float) and math.isnan(v) else v


class PostgisProducts:
    """The department schemas of the PostgreSQL database at ``url``
    (``postgresql+psycopg://…``).

    Parameters
    ----------
    url
        A SQLAlchemy URL of a database with the ``postgis`` extension.
    """

    def __init__(self, url: str | sa.URL) -> None:
        self.engine = sa.create_engine(url)

    def close(self) -> None:
        self.engine.dispose()

    def ensure_departments(self, departments: tuple[str, ...] = DEPARTMENTS) -> None:
        """Create each department's schema and role if missing; close the schemas to
        PUBLIC and open each to its own role only."""
        with self.engine.begin() as conn:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('duoce-roles'))"))
            for dep in map(_department, departments):
                self._ensure(conn, dep)

    @staticmethod
    def _ensure(conn: sa.Connection, dep: str) -> None:
        role = role_name(dep)
        conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {_q(dep)}")
        exists = conn.execute(
            sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}
        ).first()
        if exists is None:
            conn.exec_driver_sql(f"CREATE ROLE {_q(role)} NOLOGIN")
        conn.exec_driver_sql(f"REVOKE ALL ON SCHEMA {_q(dep)} FROM PUBLIC")
        conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {_q(dep)} TO {_q(role)}")
        conn.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA {_q(dep)} TO {_q(role)}")

    def publish(
        self, department: str, project_id: str, revision: int, gpkgs: list[Path]
    ) -> dict[str, int]:
        """Copy every layer of the product's GeoPackages into the department's schema, in
        one transaction: all layers of the revision, or none.

        Returns
        -------
        dict[str, int]
            Rows written per table.
        """
        dep = _department(department)
        written: dict[str, int] = {}
        with self.engine.begin() as conn:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:d))"), {"d": dep})
            self._ensure(conn, dep)
            for gpkg in gpkgs:
                for layer, _ in pyogrio.list_layers(gpkg):
                    if layer in NOT_LAYERS:
                        continue
                    written[str(layer)] = self._copy_layer(
                        conn, dep, project_id, revision, Path(gpkg), str(layer)
                    )
        return written

    def publish_folder(
        self, department: str, project_id: str, revision: int, folder: Path
    ) -> dict[str, int]:
        """:meth:`publish` of every ``*.gpkg`` at the top of a product folder."""
        return self.publish(department, project_id, revision, sorted(Path(folder).glob("*.gpkg")))

    def _copy_layer(
        self,
        conn: sa.Connection,
        dep: str,
        project_id: str,
        revision: int,
        gpkg: Path,
        layer: str,
    ) -> int:
        info = pyogrio.read_info(gpkg, layer=layer)
        frame = pyogrio.read_dataframe(gpkg, layer=layer, fid_as_index=True)
        geom_type = _geometry_type(info.get("geometry_type"))
        srid = 0
        m = _EPSG.fullmatch(str(info.get("crs") or ""))
        if m:
            srid = int(m.group(1))
        columns: dict[str, str] = {}
        for name, dtype in zip(info["fields"], info["dtypes"], strict=True):
            columns[str(name)] = _TYPES.get(str(dtype), "text")
        columns["project_id"] = "text"
        columns["revision"] = "integer"
        table = f"{_q(dep)}.{_q(layer)}"
        defs = ["fid bigint NOT NULL"] + [
            f"{_q(c)} {t}" + (" NOT NULL" if c in ("project_id", "revision") else "")
            for c, t in columns.items()
        ]
        if geom_type is not None:
            defs.append(f"geom geometry({geom_type}, {srid})")
        defs.append("PRIMARY KEY (project_id, revision, fid)")
        conn.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS {table} ({', '.join(defs)})")
        for c, t in columns.items():  # a layer that gained a column in a later version
            conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {_q(c)} {t}")
        if geom_type is not None:
            conn.exec_driver_sql(
                f"CREATE INDEX IF NOT EXISTS {_q(layer + '_geom_gist')} ON {table} USING gist (geom)"
            )
        conn.exec_driver_sql(f"GRANT SELECT ON {table} TO {_q(role_name(dep))}")
        conn.execute(
            sa.text(f"DELETE FROM {table} WHERE project_id = :p AND revision = :r"),
            {"p": project_id, "r": revision},
        )
        if frame.empty:
            return 0
        names = list(columns)
        marks = [f":c{i}" for i in range(len(names))]
        cols = ["fid", *(_q(n) for n in names)]
        vals = [":fid", *marks]
        if geom_type is not None:
            cols.append("geom")
            vals.append(f"ST_SetSRID(ST_GeomFromWKB(:geom), {srid})")
        insert = sa.text(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(vals)})")
        geoms = frame.geometry if geom_type is not None and "geometry" in frame else None
        rows = []
        for i, (fid, record) in enumerate(frame.iterrows()):
            row: dict[str, Any] = {"fid": int(fid)}
            for j, name in enumerate(names):
                row[f"c{j}"] = _value(record[name]) if name in record.index else None
            row[f"c{names.index('project_id')}"] = project_id
            row[f"c{names.index('revision')}"] = revision
            if geom_type is not None:
                geom = geoms.iloc[i] if geoms is not None else None
                row["geom"] = None if geom is None or geom.is_empty else shapely.to_wkb(geom)
            rows.append(row)
        conn.execute(insert, rows)
        return len(rows)
