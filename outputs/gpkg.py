"""GeoPackage helpers for the department products: a layer written to a fixed schema, and
what makes it open well in QGIS.

A :class:`Layer` names its columns, their storage (TEXT, REAL, INTEGER), their Chinese
alias and the geometry type, so a layer has the same fields and geometry type whatever the
content (an empty layer included). :func:`write_layer` writes a frame to that schema (GDAL,
through pyogrio); :func:`finish` then adds, with SQLite, what GDAL does not write itself:

- ``gpkg_data_columns`` (the GeoPackage schema extension): the Chinese alias of every
  column as its ``title`` (GDAL reads it as the field's alternative name, QGIS as its
  alias), its ``description``, and the code lists as ``enum`` constraints
  (``gpkg_data_column_constraints``: GDAL reads them as coded field domains, QGIS shows the
  names beside the codes);
- ``layer_styles``: one default QML style per layer, in the table and with the columns
  the QGIS OGR provider writes and reads (``f_table_schema`` is ``''``, as QGIS queries
  it; ``f_geometry_column`` is the layer's geometry column, ``''`` without one);
- ``gpkg_metadata`` + ``gpkg_metadata_reference`` (the metadata extension): the
  provenance (project, revision, package sha256, rule-set version, profile, time) once for
  the whole GeoPackage as JSON, and per layer as QGIS layer metadata (the
  ``http://mrcc.com/qgis.dtd`` XML QGIS reads for the layer's metadata page).

Layer descriptions go to ``gpkg_contents.description`` (GDAL's DESCRIPTION option).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal
from xml.sax.saxutils import escape, quoteattr

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

Kind = Literal["text", "real", "integer"]
GeometryType = Literal["Point", "LineString", "MultiLineString", "MultiPolygon"]

SCHEMA_EXTENSION = "http://www.geopackage.org/spec/#extension_schema"
METADATA_EXTENSION = "http://www.geopackage.org/spec/#extension_metadata"
PROVENANCE_URI = "urn:duoce:provenance:1"  # our own JSON record (an identifier, not fetched)
QGIS_METADATA_URI = "http://mrcc.com/qgis.dtd"  # the value QGIS writes and looks for
QGIS_VERSION = "3.28.0-Firenze"  # the QML format written (read by QGIS 3.x)


# ---------------------------------------------------------------- provenance


@dataclass(frozen=True)
class Provenance:
    """Where a product comes from: written into every GeoPackage and on the opinion."""

    project: str | None
    revision: int | None  # None: a pre-check, not a recorded revision
    sha256: str | None  # the package's
    ruleset: str
    profile: str
    created: dt.datetime  # the check's time

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["created"] = self.created.isoformat(timespec="seconds")
        return out


# ---------------------------------------------------------------- schema


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    alias: str  # Chinese, shown by QGIS
    description: str = ""
    codelist: str | None = None  # name of a code list (enum constraint)


@dataclass(frozen=True)
class Category:
    value: str
    label: str
    color: str  # "r,g,b,a"


@dataclass(frozen=True)
class Style:
    """How QGIS draws a layer: a fill / line / marker colour, or categories of one field,
    and a label (a field or an expression)."""

    color: str = "60,60,60,255"
    fill: bool = True  # polygons: filled, or the outline only
    width: float = 0.5  # outline or line width, mm
    size: float = 2.5  # marker size, mm
    dashed: bool = False
    by: str | None = None  # field of the categories
    categories: tuple[Category, ...] = ()
    label: str | None = None  # a field name, or an expression when ``label_expression``
    label_expression: bool = False


@dataclass(frozen=True)
class Layer:
    name: str
    title: str  # Chinese name (gpkg_contents.identifier)
    description: str  # gpkg_contents.description
    columns: tuple[Column, ...]
    geometry: GeometryType | None = None
    style: Style = field(default_factory=Style)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


GEOMETRY_COLUMN = "geom"  # what GDAL names it in a GeoPackage
_DTYPES = {"text": object, "real": "float64", "integer": "Int64"}


def _integers(values: pd.Series) -> pd.Series:
    number = pd.to_numeric(values, errors="coerce")
    whole = number.where(number.isna() | (number == np.floor(number)))  # 2.5 is no count
    return whole.astype("Int64")


def _text(values: pd.Series) -> pd.Series:
    out = values.astype(object)
    return out.where(pd.notna(out), None).map(lambda v: v if v is None else str(v))


def typed(frame: pd.DataFrame, layer: Layer) -> pd.DataFrame:
    """``frame`` with exactly the layer's columns, in order, each of its kind (a column the
    frame lacks is all NULL)."""
    out = {}
    n = len(frame)
    for c in layer.columns:
        values = frame[c.name] if c.name in frame.columns else pd.Series([None] * n, index=frame.index, dtype=object)
        if c.kind == "real":
            out[c.name] = pd.to_numeric(values, errors="coerce").astype("float64")
        elif c.kind == "integer":
            out[c.name] = _integers(values.astype(object) if values.dtype == bool else values)
        else:
            out[c.name] = _text(values)
    return pd.DataFrame(out, index=frame.index).reset_index(drop=True)


def _conform(geoms: Iterable[Any], gtype: GeometryType) -> list[Any]:
    """Each geometry as the layer's type: missing, empty or of another kind → NULL."""
    out = []
    for g in geoms:
        if g is None or not isinstance(g, shapely.Geometry) or g.is_empty:
            out.append(None)
            continue
        if isinstance(g, shapely.GeometryCollection) and not isinstance(
            g, shapely.MultiPolygon | shapely.MultiLineString | shapely.MultiPoint
        ):
            parts = [p for p in g.geoms if not p.is_empty]
        else:
            parts = [g]
        if gtype == "MultiPolygon":
            polys = [q for p in parts for q in (p.geoms if isinstance(p, shapely.MultiPolygon) else [p])
                     if isinstance(q, shapely.Polygon)]
            out.append(shapely.MultiPolygon(polys) if polys else None)
        elif gtype in ("LineString", "MultiLineString"):
            lines = [shapely.LineString(q.coords) if isinstance(q, shapely.LinearRing) else q
                     for p in parts for q in (p.geoms if isinstance(p, shapely.MultiLineString) else [p])
                     if isinstance(q, shapely.LineString)]
            if gtype == "MultiLineString":
                out.append(shapely.MultiLineString(lines) if lines else None)
            else:
                out.append(lines[0] if len(lines) == 1 else None)
        else:  # Point
            out.append(g if isinstance(g, shapely.Point) else None)
    return out


def write_layer(path: Path, layer: Layer, frame: pd.DataFrame, crs: str | None,
                provenance: Provenance) -> None:
    """Write ``frame`` as ``layer``: its schema, its geometry type, the project id and
    revision on every row; its description in gpkg_contents."""
    data = typed(frame.assign(project_id=provenance.project, revision=provenance.revision), layer)
    options = {"DESCRIPTION": layer.description, "IDENTIFIER": layer.title}
    if layer.geometry is None:
        pyogrio.write_dataframe(data, path, layer=layer.name, driver="GPKG", layer_options=options)
        return
    geoms = frame.geometry.values if isinstance(frame, gpd.GeoDataFrame) else frame.get("geometry", [None] * len(frame))
    geometry = gpd.GeoSeries(_conform(list(geoms), layer.geometry), crs=crs)
    gdf = gpd.GeoDataFrame(data, geometry=geometry, crs=crs)
    pyogrio.write_dataframe(gdf, path, layer=layer.name, driver="GPKG", geometry_type=layer.geometry,
                            promote_to_multi=False, layer_options=options)


# ---------------------------------------------------------------- styles (QML, SLD)


_GEOMETRY_KIND = {"Point": "marker", "LineString": "line", "MultiLineString": "line", "MultiPolygon": "fill"}
_QGIS_GEOMETRY_TYPE = {"marker": 0, "line": 1, "fill": 2, None: 4}


def _options(props: Mapping[str, str]) -> str:
    """A symbol layer's properties both ways QGIS 3 reads them (``<Option>`` and ``<prop>``)."""
    opts = "".join(f'<Option type="QString" name={quoteattr(k)} value={quoteattr(v)}/>' for k, v in props.items())
    legacy = "".join(f"<prop k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in props.items())
    return f'<Option type="Map">{opts}</Option>{legacy}'


def _symbol(kind: str, name: str, color: str, style: Style) -> str:
    if kind == "marker":
        cls, props = "SimpleMarker", {
            "name": "circle", "color": color, "size": f"{style.size:g}", "size_unit": "MM",
            "outline_color": "255,255,255,255", "outline_style": "solid", "outline_width": "0.3",
            "outline_width_unit": "MM",
        }
    elif kind == "line":
        cls, props = "SimpleLine", {
            "line_color": color, "line_width": f"{style.width:g}", "line_width_unit": "MM",
            "line_style": "dash" if style.dashed else "solid", "capstyle": "round", "joinstyle": "round",
        }
    else:
        r, g, b, _ = color.split(",")
        cls, props = "SimpleFill", {
            "color": f"{r},{g},{b},{90 if style.fill else 0}", "style": "solid" if style.fill else "no",
            "outline_color": color, "outline_width": f"{style.width:g}", "outline_width_unit": "MM",
            "outline_style": "dash" if style.dashed else "solid", "joinstyle": "miter",
        }
    return (f'<symbol type="{kind}" name={quoteattr(name)} alpha="1" clip_to_extent="1" force_rhr="0">'
            f'<layer class="{cls}" enabled="1" locked="0" pass="0">{_options(props)}</layer></symbol>')


def _renderer(layer: Layer) -> str:
    kind = _GEOMETRY_KIND[layer.geometry] if layer.geometry else None
    if kind is None:
        return ""
    s = layer.style
    if s.by and s.categories:
        cats = "".join(f'<category value={quoteattr(c.value)} symbol="{i}" label={quoteattr(c.label)} render="true"/>'
                       for i, c in enumerate(s.categories))
        symbols = "".join(_symbol(kind, str(i), c.color, s) for i, c in enumerate(s.categories))
        return (f'<renderer-v2 type="categorizedSymbol" attr={quoteattr(s.by)} symbollevels="0" '
                f'enableorderby="0" forceraster="0"><categories>{cats}</categories>'
                f'<symbols>{symbols}</symbols>'
                f'<source-symbol>{_symbol(kind, "0", s.color, s)}</source-symbol></renderer-v2>')
    return (f'<renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0">'
            f'<symbols>{_symbol(kind, "0", s.color, s)}</symbols></renderer-v2>')


def _labeling(layer: Layer) -> str:
    s = layer.style
    if not s.label or layer.geometry is None:
        return ""
    placement = {"marker": 0, "line": 2, "fill": 1}[_GEOMETRY_KIND[layer.geometry]]
    return (
        '<labeling type="simple"><settings calloutType="simple">'
        f'<text-style fieldName={quoteattr(s.label)} isExpression="{int(s.label_expression)}" '
        'fontFamily="Noto Sans CJK SC" fontSize="9" fontSizeUnit="Point" textColor="30,30,30,255" '
        'textOpacity="1" fontWeight="50" fontItalic="0" multilineHeight="1" allowHtml="0"/>'
        '<text-format wrapChar="" autoWrapLength="0" multilineAlign="3"/>'
        '<text-buffer bufferDraw="1" bufferSize="0.8" bufferSizeUnits="MM" bufferColor="255,255,255,255" '
        'bufferOpacity="1" bufferJoinStyle="128"/>'
        f'<placement placement="{placement}" dist="1" distUnits="MM" offsetType="0" quadOffset="4" '
        'placementFlags="10" overrunDistance="0" repeatDistance="0" priority="5"/>'
        '<rendering obstacle="1" scaleVisibility="0" drawLabels="1" upsidedownLabels="0" '
        'labelPerPart="0" mergeLines="0" minFeatureSize="0" limitNumLabels="0" maxNumLabels="2000" '
        'displayAll="0" fontLimitPixelSize="0"/>'
        '</settings></labeling>'
    )


def qml(layer: Layer, code_lists: Mapping[str, Mapping[str, str]]) -> str:
    """The layer's QGIS style (QML): symbology, labels, field aliases and value maps."""
    fields = []
    for c in layer.columns:
        widget = '<editWidget type="TextEdit"><config><Option/></config></editWidget>'
        if c.codelist and code_lists.get(c.codelist):
            entries = "".join(
                f'<Option type="Map"><Option type="QString" name={quoteattr(f"{code} {name}")} '
                f'value={quoteattr(code)}/></Option>'
                for code, name in code_lists[c.codelist].items()
            )
            widget = (f'<editWidget type="ValueMap"><config><Option type="Map">'
                      f'<Option type="List" name="map">{entries}</Option></Option></config></editWidget>')
        fields.append(f"<field name={quoteattr(c.name)} configurationFlags=\"None\">{widget}</field>")
    aliases = "".join(f'<alias field={quoteattr(c.name)} index="{i}" name={quoteattr(c.alias)}/>'
                      for i, c in enumerate(layer.columns))
    kind = _GEOMETRY_KIND[layer.geometry] if layer.geometry else None
    labels = "1" if layer.style.label and kind else "0"
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        f'<qgis version="{QGIS_VERSION}" styleCategories="Symbology|Labeling|Fields|Forms|AttributeTable" '
        f'labelsEnabled="{labels}" hasScaleBasedVisibilityFlag="0" minScale="100000000" maxScale="0">'
        f"{_renderer(layer)}{_labeling(layer)}"
        f"<fieldConfiguration>{''.join(fields)}</fieldConfiguration>"
        f"<aliases>{aliases}</aliases>"
        f"<previewExpression>{escape(repr_field(layer))}</previewExpression>"
        f"<layerGeometryType>{_QGIS_GEOMETRY_TYPE[kind]}</layerGeometryType>"
        "</qgis>\n"
    )


def repr_field(layer: Layer) -> str:
    """The field QGIS shows as a feature's name (identify results, attribute form)."""
    s = layer.style
    if s.label and not s.label_expression:
        return f'"{s.label}"'
    return f'"{layer.columns[0].name}"' if layer.columns else ""


def sld(layer: Layer) -> str:
    """A plain SLD 1.1 of the same symbology (for other clients; QGIS reads the QML)."""
    kind = _GEOMETRY_KIND[layer.geometry] if layer.geometry else None
    if kind is None:
        return ""
    s = layer.style

    def symbolizer(color: str) -> str:
        r, g, b, _ = (int(x) for x in color.split(","))
        hexa = f"#{r:02x}{g:02x}{b:02x}"
        stroke = (f'<se:Stroke><se:SvgParameter name="stroke">{hexa}</se:SvgParameter>'
                  f'<se:SvgParameter name="stroke-width">{s.width * 3.78:.1f}</se:SvgParameter></se:Stroke>')
        if kind == "marker":
            return (f"<se:PointSymbolizer><se:Graphic><se:Mark><se:WellKnownName>circle</se:WellKnownName>"
                    f'<se:Fill><se:SvgParameter name="fill">{hexa}</se:SvgParameter></se:Fill></se:Mark>'
                    f"<se:Size>{s.size * 3.78:.0f}</se:Size></se:Graphic></se:PointSymbolizer>")
        if kind == "line":
            return f"<se:LineSymbolizer>{stroke}</se:LineSymbolizer>"
        fill = (f'<se:Fill><se:SvgParameter name="fill">{hexa}</se:SvgParameter>'
                f'<se:SvgParameter name="fill-opacity">0.35</se:SvgParameter></se:Fill>') if s.fill else ""
        return f"<se:PolygonSymbolizer>{fill}{stroke}</se:PolygonSymbolizer>"

    if s.by and s.categories:
        rules = "".join(
            f"<se:Rule><se:Name>{escape(c.label)}</se:Name><ogc:Filter><ogc:PropertyIsEqualTo>"
            f"<ogc:PropertyName>{escape(s.by)}</ogc:PropertyName><ogc:Literal>{escape(c.value)}</ogc:Literal>"
            f"</ogc:PropertyIsEqualTo></ogc:Filter>{symbolizer(c.color)}</se:Rule>"
            for c in s.categories
        )
    else:
        rules = f"<se:Rule><se:Name>{escape(layer.title)}</se:Name>{symbolizer(s.color)}</se:Rule>"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<StyledLayerDescriptor version="1.1.0" xmlns="http://www.opengis.net/sld" '
        'xmlns:se="http://www.opengis.net/se" xmlns:ogc="http://www.opengis.net/ogc">'
        f"<NamedLayer><se:Name>{escape(layer.name)}</se:Name><UserStyle><se:Name>{escape(layer.name)}</se:Name>"
        f"<se:FeatureTypeStyle>{rules}</se:FeatureTypeStyle></UserStyle></NamedLayer></StyledLayerDescriptor>"
    )


# ---------------------------------------------------------------- after GDAL: the extensions


def _register(con: sqlite3.Connection, table: str, extension: str, definition: str) -> None:
    con.execute(
        "CREATE TABLE IF NOT EXISTS gpkg_extensions (table_name TEXT, column_name TEXT, "
        "extension_name TEXT NOT NULL, definition TEXT NOT NULL, scope TEXT NOT NULL, "
        "CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))"
    )
    con.execute(
        "INSERT OR IGNORE INTO gpkg_extensions VALUES (?, NULL, ?, ?, 'read-write')", (table, extension, definition)
    )


def _data_columns(con: sqlite3.Connection, layers: list[Layer], code_lists: Mapping[str, Mapping[str, str]]) -> None:
    con.execute(
        "CREATE TABLE IF NOT EXISTS gpkg_data_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL, "
        "name TEXT, title TEXT, description TEXT, mime_type TEXT, constraint_name TEXT, "
        "CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name), CONSTRAINT gdc_tn UNIQUE (table_name, name))"
    )
    con.execute(
        "CREATE TABLE IF NOT EXISTS gpkg_data_column_constraints (constraint_name TEXT NOT NULL, "
        "constraint_type TEXT NOT NULL, value TEXT, min NUMERIC, min_is_inclusive BOOLEAN, max NUMERIC, "
        "max_is_inclusive BOOLEAN, description TEXT, "
        "CONSTRAINT gdcc_ntv UNIQUE (constraint_name, constraint_type, value))"
    )
    _register(con, "gpkg_data_columns", "gpkg_schema", SCHEMA_EXTENSION)
    _register(con, "gpkg_data_column_constraints", "gpkg_schema", SCHEMA_EXTENSION)
    used: set[str] = set()
    for layer in layers:
        for c in layer.columns:
            constraint = c.codelist if c.codelist and code_lists.get(c.codelist) else None
            used |= {constraint} if constraint else set()
            con.execute(
                "INSERT INTO gpkg_data_columns VALUES (?, ?, ?, ?, ?, NULL, ?)",
                (layer.name, c.name, c.name, c.alias, c.description or c.alias, constraint),
            )
    for name in sorted(used):
        con.executemany(
            "INSERT INTO gpkg_data_column_constraints VALUES (?, 'enum', ?, NULL, NULL, NULL, NULL, ?)",
            [(name, code, label) for code, label in code_lists[name].items()],
        )


def _styles(path: Path, layers: list[Layer], provenance: Provenance,
            code_lists: Mapping[str, Mapping[str, str]]) -> None:
    """The ``layer_styles`` table as the QGIS OGR provider creates it (an attributes layer
    with FID ``id``), one default style per layer."""
    created = pd.Timestamp(provenance.created).tz_localize(None) if provenance.created.tzinfo is None else (
        pd.Timestamp(provenance.created).tz_convert("UTC").tz_localize(None))
    rows = pd.DataFrame(
        {
            "f_table_catalog": [""] * len(layers),
            "f_table_schema": [""] * len(layers),
            "f_table_name": [la.name for la in layers],
            "f_geometry_column": [GEOMETRY_COLUMN if la.geometry else "" for la in layers],
            "styleName": [la.name for la in layers],
            "styleQML": [qml(la, code_lists) for la in layers],
            "styleSLD": [sld(la) for la in layers],
            "useAsDefault": pd.array([True] * len(layers), dtype="bool"),
            "description": [f"{la.title}（默认样式）" for la in layers],
            "owner": [""] * len(layers),
            "ui": [None] * len(layers),
            "update_time": pd.Series([created] * len(layers), dtype="datetime64[ms]"),
        }
    )
    pyogrio.write_dataframe(rows, path, layer="layer_styles", driver="GPKG", layer_options={"FID": "id"})


def _qgis_layer_metadata(layer: Layer, provenance: Provenance) -> str:
    p = provenance
    ident = f"{p.project or ''}/{f'r{p.revision}' if p.revision else '预检'}/{layer.name}"
    history = "多测合一检查 " + p.created.isoformat(timespec="seconds")
    keywords = "".join(
        f"<keyword>{escape(f'{k}: {v}')}</keyword>"
        for k, v in (("项目编号", p.project), ("成果版本", p.revision), ("成果包 sha256", p.sha256),
                     ("规则集版本", p.ruleset), ("城市配置", p.profile))
        if v is not None
    )
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        f'<qgis version="{QGIS_VERSION}">'
        f"<identifier>{escape(ident)}</identifier>"
        "<parentidentifier></parentidentifier><language>zho</language><type>dataset</type>"
        f"<title>{escape(layer.title)}</title><abstract>{escape(layer.description)}</abstract>"
        f'<keywords vocabulary="duoce">{keywords}</keywords>'
        f"<history>{escape(history)}</history>"
        "</qgis>\n"
    )


def _metadata(con: sqlite3.Connection, layers: list[Layer], provenance: Provenance) -> None:
    con.execute(
        "CREATE TABLE IF NOT EXISTS gpkg_metadata (id INTEGER CONSTRAINT m_pk PRIMARY KEY ASC NOT NULL, "
        "md_scope TEXT NOT NULL DEFAULT 'dataset', md_standard_uri TEXT NOT NULL, "
        "mime_type TEXT NOT NULL DEFAULT 'text/xml', metadata TEXT NOT NULL DEFAULT '')"
    )
    con.execute(
        "CREATE TABLE IF NOT EXISTS gpkg_metadata_reference (reference_scope TEXT NOT NULL, table_name TEXT, "
        "column_name TEXT, row_id_value INTEGER, "
        "timestamp DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')), "
        "md_file_id INTEGER NOT NULL, md_parent_id INTEGER, "
        "CONSTRAINT crmr_mfi_fk FOREIGN KEY (md_file_id) REFERENCES gpkg_metadata(id), "
        "CONSTRAINT crmr_mpi_fk FOREIGN KEY (md_parent_id) REFERENCES gpkg_metadata(id))"
    )
    _register(con, "gpkg_metadata", "gpkg_metadata", METADATA_EXTENSION)
    _register(con, "gpkg_metadata_reference", "gpkg_metadata", METADATA_EXTENSION)
    stamp = provenance.created.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    document = json.dumps({"provenance": provenance.as_dict(), "layers": [la.name for la in layers]},
                          ensure_ascii=False, indent=2)
    cur = con.execute(
        "INSERT INTO gpkg_metadata (md_scope, md_standard_uri, mime_type, metadata) VALUES ('dataset', ?, ?, ?)",
        (PROVENANCE_URI, "application/json", document),
    )
    root = cur.lastrowid
    con.execute(
        "INSERT INTO gpkg_metadata_reference (reference_scope, table_name, column_name, row_id_value, timestamp, "
        "md_file_id, md_parent_id) VALUES ('geopackage', NULL, NULL, NULL, ?, ?, NULL)",
        (stamp, root),
    )
    for layer in layers:
        cur = con.execute(
            "INSERT INTO gpkg_metadata (md_scope, md_standard_uri, mime_type, metadata) VALUES ('dataset', ?, ?, ?)",
            (QGIS_METADATA_URI, "text/xml", _qgis_layer_metadata(layer, provenance)),
        )
        con.execute(
            "INSERT INTO gpkg_metadata_reference (reference_scope, table_name, column_name, row_id_value, "
            "timestamp, md_file_id, md_parent_id) VALUES ('table', ?, NULL, NULL, ?, ?, ?)",
            (layer.name, stamp, cur.lastrowid, root),
        )


def finish(path: Path, layers: list[Layer], provenance: Provenance,
           code_lists: Mapping[str, Mapping[str, str]]) -> None:
    """Aliases, code lists, default styles and provenance for the layers written to ``path``."""
    _styles(path, layers, provenance, code_lists)
    con = sqlite3.connect(path)
    try:
        with con:
            _data_columns(con, layers, code_lists)
            _metadata(con, layers, provenance)
    finally:
        con.close()


def write_gpkg(path: Path, layers: list[tuple[Layer, pd.DataFrame]], crs: str | None, provenance: Provenance,
               code_lists: Mapping[str, Mapping[str, str]]) -> None:
    """A whole GeoPackage: every layer, then :func:`finish`.

    The same result and provenance give the same bytes: GDAL stamps ``gpkg_contents``'s
    ``last_change`` with ``OGR_CURRENT_DATE`` when set, here the check's time, so a product
    rebuilt after a loss can be compared with its record byte for byte.
    """
    path.unlink(missing_ok=True)
    with _gdal_date(provenance.created):
        for layer, frame in layers:
            write_layer(path, layer, frame, crs, provenance)
        finish(path, [la for la, _ in layers], provenance, code_lists)


@contextlib.contextmanager
def _gdal_date(when: dt.datetime | None) -> Iterator[None]:
    """GDAL's ``OGR_CURRENT_DATE`` set to ``when`` (UTC, ISO 8601) for the block."""
    if when is None:
        yield
        return
    stamp = when.astimezone(dt.UTC) if when.tzinfo else when
    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": stamp.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})
