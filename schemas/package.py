"""The typed container of a parsed package, shared by parsers (which fill it) and rules
(which read it). It holds what was read *and* what could not be read (findings).

Frames
------
``Package.tables[sheet_key]``
    Raw report cells as text (``str`` or ``None``), one column per standard field code
    found in the header, plus ``_row``: the spreadsheet row a person sees (header = 1).
    The long-form 项目信息 sheet is a frame with columns ``field`` (code), ``value``, ``_row``.
``Drawing.shapes``
    Every LWPOLYLINE / POLYLINE / LINE / ARC: ``handle, layer, dxftype, closed, xdata,
    geometry`` where geometry is the LineString of the vertices as drawn (arcs of bulges
    and ARC entities flattened into chords, an ARC from its start point to its end point,
    never closed; the closing vertex not repeated for closed shapes), and ``xdata`` a
    tuple of every group code 1000 string of every XDATA application of the entity,
    applications and strings in file order (CASS writes ``SOUTH``: the feature code first,
    the 宗地代码 later), or None when it has none.
``Drawing.points``
    Every CIRCLE / POINT / INSERT: ``handle, layer, dxftype, geometry`` (centre or
    insertion Point).

All geometry is 2D world coordinates (OCS applied, z dropped).
``Drawing.texts``
    Every TEXT / MTEXT: ``handle, layer, dxftype, text, geometry`` (insertion Point), text
    plain (MTEXT formatting stripped) and stripped of surrounding white space.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from schemas.file_names import project_id_ok
from schemas.findings import Finding

SHAPE_COLUMNS = ["handle", "layer", "dxftype", "closed", "xdata", "geometry"]
POINT_COLUMNS = ["handle", "layer", "dxftype", "geometry"]
TEXT_COLUMNS = ["handle", "layer", "dxftype", "text", "geometry"]


def empty_frame(columns: list[str]) -> gpd.GeoDataFrame:
    data = {c: pd.Series(dtype="object") for c in columns if c != "geometry"}
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries([], dtype="geometry"))


@dataclass
class Drawing:
    """One DXF file as read. ``readable`` is False when DXF-001 was raised: the rules
    that need this drawing skip it; whatever was read before the damage is still here."""

    path: str  # package-relative, e.g. "drawings/site.dxf"
    readable: bool = True
    shapes: gpd.GeoDataFrame = field(default_factory=lambda: empty_frame(SHAPE_COLUMNS))
    points: gpd.GeoDataFrame = field(default_factory=lambda: empty_frame(POINT_COLUMNS))
    texts: gpd.GeoDataFrame = field(default_factory=lambda: empty_frame(TEXT_COLUMNS))
    version: str | None = None  # $ACADVER, e.g. "AC1015"
    encoding: str | None = None  # the code page used to decode text
    entity_count: int = 0  # modelspace entities read
    repairs: list[str] = field(default_factory=list)  # what recover mode fixed (DXF-002)
    # required layers the CRS step emptied (their entities out of the zone, CRS-002 each):
    # not "missing" (DXF-003), though nothing on them is measured
    emptied: set[str] = field(default_factory=set)
    # what schemas derive from the frames and reuse (e.g. assembled outlines), keyed by
    # what was asked; each entry holds the frame it was derived from, to be recomputed
    # when the frame was replaced
    derived: dict = field(default_factory=dict, repr=False, compare=False)

    def layer_names(self) -> set[str]:
        return (
            set(self.shapes["layer"]) | set(self.points["layer"]) | set(self.texts["layer"])
        )


@dataclass
class Package:
    """A package as read: envelope, report cells, drawings and the findings of reading."""

    source: str
    sha256: str | None = None
    root: Path | None = None  # where the package's files are (the directory, or the extract)
    manifest: dict | None = None
    files: dict[str, int] = field(default_factory=dict)  # relative path -> size, as present
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    report_form: str | None = None  # "xlsx" or "csv"
    drawings: dict[str, Drawing] = field(default_factory=dict)  # "site", "parcel", "floor:0001"
    findings: list[Finding] = field(default_factory=list)
    _pending: Callable[[], list[Finding]] | None = field(default=None, repr=False, compare=False)

    def defer(self, pending: Callable[[], list[Finding]]) -> None:
        """Drawings are still being read: ``pending()`` fills :attr:`drawings` and gives
        the findings of reading them."""
        self._pending = pending

    def settle(self) -> list[Finding]:
        """Wait for drawings still being read; their findings (added to :attr:`findings`
        too), or [] when there is nothing left to wait for."""
        if self._pending is None:
            return []
        pending, self._pending = self._pending, None
        found = pending()
        self.findings += found
        return found

    @property
    def project_id(self) -> str | None:
        """The manifest's project id, else 项目信息 XMBH; None unless it can name a folder
        (:func:`project_id_ok`: PKG-002 has said why)."""
        if self.manifest and isinstance(self.manifest.get("project_id"), str):
            value = self.manifest["project_id"]
            return value if project_id_ok(value) else None
        proj = self.tables.get("project")
        if proj is not None and len(proj):
            hit = proj.loc[proj["field"] == "XMBH", "value"]
            if len(hit) and isinstance(hit.iloc[0], str) and project_id_ok(hit.iloc[0].strip()):
                return hit.iloc[0].strip()
        return None

    def floor_plans(self) -> dict[str, Drawing]:
        """Floor plans by 4-digit 幢号."""
        return {k.split(":", 1)[1]: d for k, d in self.drawings.items() if k.startswith("floor:")}
