"""Department products (成果共享): one GeoPackage per department with the layer names of
results.md, and the archive's files. Each builder writes into a folder the store then
publishes atomically; builders only reshape the check result, they judge nothing.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from outputs.html_report import render_html
from outputs.opinion import render_opinion
from outputs.results import dumps, findings_document
from outputs.revisions import diff_document
from schemas.check import CheckResult
from schemas.findings import Finding
from schemas.measure import setbacks

DEPARTMENTS = ("planning", "registration", "housing", "archive")
GPKG = {"planning": "planning.gpkg", "registration": "registration.gpkg", "housing": "housing.gpkg"}


def _crs(result: CheckResult) -> str:
    return f"EPSG:{result.zone.epsg}"


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Typed report frame → columns GeoPackage can hold (dates as text, row kept)."""
    out = df.reset_index()
    for c in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = out[c].dt.strftime("%Y-%m-%d")
        elif out[c].dtype == object or str(out[c].dtype) == "string":
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out


def _write(path: Path, layer: str, frame: pd.DataFrame, crs: str | None = None) -> None:
    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns:
        gdf = frame.set_crs(crs, allow_override=True) if crs else frame
        if not len(gdf):  # an empty layer keeps its schema
            pyogrio.write_dataframe(gdf, path, layer=layer, driver="GPKG", geometry_type="Unknown")
            return
        pyogrio.write_dataframe(gdf, path, layer=layer, driver="GPKG", promote_to_multi=False)
    else:
        pyogrio.write_dataframe(pd.DataFrame(frame), path, layer=layer, driver="GPKG")


def findings_layer(findings: list[Finding], domains: set[str] | None, crs: str) -> gpd.GeoDataFrame:
    rows = [f for f in findings if domains is None or f.domain in domains]
    data = pd.DataFrame(
        {
            "code": [f.code for f in rows],
            "severity": [f.severity for f in rows],
            "domain": [f.domain for f in rows],
            "message": [f.message for f in rows],
            "sheet": [f.object.sheet for f in rows],
            "row": pd.array([f.object.row for f in rows], dtype="Int64"),
            "object_key": [f.object.key for f in rows],
            "file": [f.object.file for f in rows],
            "layer": [f.object.layer for f in rows],
            "handle": [f.object.handle for f in rows],
            "expected": [str(f.expected) if f.expected is not None else None for f in rows],
            "actual": [str(f.actual) if f.actual is not None else None for f in rows],
            "tolerance": [f.tolerance for f in rows],
        }
    )
    pts = shapely.points([f.location if f.location else (np.nan, np.nan) for f in rows]) if rows else []
    geom = gpd.GeoSeries(pts, crs=crs)
    geom = geom.where(~geom.is_empty & geom.notna(), None) if len(geom) else geom
    return gpd.GeoDataFrame(data, geometry=geom, crs=crs)


def _row_verdicts(findings: list[Finding], sheet: str, rows: pd.Index) -> pd.Series:
    bad = {f.object.row for f in findings if f.object.sheet == sheet and f.severity == "error"}
    return pd.Series(["不符合" if r in bad else "符合" for r in rows], index=rows)


# ---------------------------------------------------------------- planning 规划


def build_planning(result: CheckResult, out: Path) -> None:
    crs, path, t = _crs(result), out / GPKG["planning"], result.tables
    ind = t.get("planning_indicator")
    ind = ind.assign(verdict=_row_verdicts(result.findings, "规划指标", ind.index))
    _write(path, "indicators", _plain(ind))
    site = result.geometry.site
    empty = gpd.GeoDataFrame({"handle": pd.Series(dtype=object)}, geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    if site is not None:
        _write(path, "site_boundary", site.boundary[["handle", "valid", "geometry"]], crs)
        _write(path, "road_red_lines", site.roads[["handle", "geometry"]], crs)
        bld = _plain(t.get("building")).assign(zh=lambda d: d["ZRZH"].astype("string").str[20:24])
        fp = site.footprints[["handle", "label", "zh", "valid", "geometry"]].merge(
            bld.drop(columns=["_row"]), on="zh", how="left"
        )
        _write(path, "footprints", gpd.GeoDataFrame(fp, geometry="geometry"), crs)
        _write(path, "green_areas", site.green[["handle", "valid", "geometry"]], crs)
        sb = _plain(t.get("setback")).assign(zh=lambda d: d["ZRZH"].astype("string").str[20:24])
        measured = setbacks(site, sb["zh"])
        sb = gpd.GeoDataFrame(
            sb.merge(measured.rename(columns={"distance": "computed"}), on=["zh", "DX"], how="left"), geometry="geometry"
        )
        sb["verdict"] = _row_verdicts(result.findings, "退让", pd.Index(sb["_row"])).to_numpy()
        _write(path, "setbacks", sb, crs)
    else:
        for layer in ("site_boundary", "road_red_lines", "footprints", "green_areas", "setbacks"):
            _write(path, layer, empty, crs)
    _write(path, "findings", findings_layer(result.findings, {"planning", "cross", "crs", "drawing", "report", "package"}, crs), crs)


# ---------------------------------------------------------------- registration 不动产登记


def build_registration(result: CheckResult, out: Path) -> None:
    crs, path, t, geo = _crs(result), out / GPKG["registration"], result.tables, result.geometry
    parcels = _plain(t.get("parcel"))
    if geo.parcel is not None and len(geo.parcel.parcels):
        shapes = geo.parcel.parcels[["zddm", "geometry"]].dropna(subset=["zddm"]).drop_duplicates("zddm")
        parcels = parcels.merge(shapes, left_on="ZDDM", right_on="zddm", how="left").drop(columns=["zddm"])
    else:
        parcels["geometry"] = None
    _write(path, "parcels", gpd.GeoDataFrame(parcels, geometry="geometry", crs=crs), crs)
    bp = _plain(t.get("boundary_point"))
    geom = shapely.points(bp["YZBZ"].astype(float).to_numpy(), bp["XZBZ"].astype(float).to_numpy()) if len(bp) else []
    _write(path, "boundary_points", gpd.GeoDataFrame(bp, geometry=gpd.GeoSeries(geom, crs=crs), crs=crs), crs)
    bld = _plain(t.get("building")).assign(zh=lambda d: d["ZRZH"].astype("string").str[20:24].astype(object))
    if geo.site is not None:
        fp = geo.site.footprints
        fp = fp[fp["zh"].notna()].drop_duplicates("zh")[["zh", "geometry"]]
        bld = bld.merge(fp, on="zh", how="left")
    else:
        bld["geometry"] = None
    _write(path, "buildings", gpd.GeoDataFrame(bld, geometry="geometry", crs=crs), crs)
    _write(path, "floors", _plain(t.get("floor")))
    _write(path, "units", _plain(t.get("unit")))
    _write(path, "findings", findings_layer(result.findings, {"cadastral", "property", "cross", "crs", "drawing", "report", "package"}, crs), crs)


# ---------------------------------------------------------------- housing 住建/房产


def build_housing(result: CheckResult, out: Path) -> None:
    crs, path, t = _crs(result), out / GPKG["housing"], result.tables
    units = _plain(t.get("unit"))
    pred = units["YCJZMJ"].astype(float)
    units["error_ratio"] = ((units["SCJZMJ"].astype(float) - pred) / pred).where(pred > 0)
    _write(path, "units", units)
    _write(path, "shared_parts", _plain(t.get("shared_part")))
    _write(path, "findings", findings_layer(result.findings, {"property", "report", "package"}, crs), crs)


# ---------------------------------------------------------------- archive 城建档案


def build_archive(result: CheckResult, out: Path, raw: Path, comparison=None) -> None:
    """The original package byte for byte, its checksums, findings.json, the firm's report
    (质检报告, with fixed / new / open against the previous revision) and the diff."""
    target = out / "package" / raw.name
    if raw.is_dir():
        shutil.copytree(raw, target, symlinks=False)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(raw, target)
    checksums = {
        "package_sha256": result.package.sha256,
        "manifest_files": (result.package.manifest or {}).get("files", []),
    }
    (out / "checksums.json").write_bytes(json.dumps(checksums, ensure_ascii=False, indent=2).encode())
    (out / "findings.json").write_bytes(dumps(findings_document(result)))
    previous = comparison.as_previous_map() if comparison is not None else None
    (out / "report.html").write_text(render_html(result, previous), encoding="utf-8")
    if comparison is not None:
        doc = diff_document(comparison, result.package.project_id, None)
        (out / "revision_diff.json").write_bytes(dumps(doc))


def _with_opinion(result: CheckResult, build: Callable[[Path], None]) -> Callable[[Path], None]:
    """Every department's product carries the joint opinion (联合验收意见)."""

    def run(out: Path) -> None:
        build(out)
        (out / "opinion.html").write_text(render_opinion(result), encoding="utf-8")

    return run


def builders(result: CheckResult, raw: Path, comparison=None) -> dict[str, Callable[[Path], None]]:
    """The department products due for this result (registration and housing only when
    the verdict is not ``rejected``)."""
    out: dict[str, Callable[[Path], None]] = {
        "planning": lambda d: build_planning(result, d),
        "archive": lambda d: build_archive(result, d, raw, comparison),
    }
    if result.verdict.verdict != "rejected":
        out["registration"] = lambda d: build_registration(result, d)
        out["housing"] = lambda d: build_housing(result, d)
    return {dep: _with_opinion(result, build) for dep, build in out.items()}
