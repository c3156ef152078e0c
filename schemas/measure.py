"""Figures measured on the drawings, shared by the rules and the department products.

Setbacks are measured from a footprint to the YDHX ring (its boundary line, not the area)
or to the nearest DLHX line (a closed DLHX counts by its ring), as rules.md PLN-011 says.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from schemas.drawings import SiteGeometry

SETBACK_TARGETS = ("用地红线", "道路红线")


def footprints_by_zh(site: SiteGeometry) -> gpd.GeoDataFrame:
    """Valid, labelled footprints, one per 4-digit 幢号 (the first where a label repeats)."""
    fp = site.footprints
    fp = fp[fp["valid"].astype(bool) & fp["zh"].notna()]
    return fp.drop_duplicates("zh", keep="first").set_index("zh", drop=False)


def site_ring(site: SiteGeometry):
    """The YDHX boundary line (of the first valid YDHX polygon), or None."""
    b = site.boundary[site.boundary["valid"].astype(bool)]
    if not len(b):
        return None
    return shapely.boundary(b.geometry.values[0])


def setbacks(site: SiteGeometry, zh: pd.Series | list[str]) -> gpd.GeoDataFrame:
    """Computed setbacks for each 幢号 and each target: distance and the shortest line.

    Columns: ``zh, DX, distance, geometry`` (the shortest line, footprint → target).
    Missing footprint or target gives NaN and an empty geometry.
    """
    fp = footprints_by_zh(site)
    wanted = pd.Index(pd.unique(pd.Series(list(zh), dtype="object").dropna()))
    geoms = fp.geometry.reindex(wanted).values
    ring = site_ring(site)
    roads = site.roads.geometry.values if len(site.roads) else np.array([], dtype=object)
    rows = []
    for target in SETBACK_TARGETS:
        if target == "用地红线":
            tgt = np.full(len(wanted), ring, dtype=object)
        elif len(roads):
            # the nearest road line of every footprint, in one tree query
            tree = shapely.STRtree(roads)
            has = ~shapely.is_missing(geoms)
            tgt = np.full(len(wanted), None, dtype=object)
            if has.any():
                idx = tree.query_nearest(geoms[has], return_distance=False, all_matches=False)
                tgt[np.flatnonzero(has)[idx[0]]] = roads[idx[1]]
        else:
            tgt = np.full(len(wanted), None, dtype=object)
        dist = shapely.distance(geoms, tgt)
        line = shapely.shortest_line(geoms, tgt)
        rows.append(gpd.GeoDataFrame({"zh": wanted, "DX": target, "distance": dist}, geometry=line))
    return pd.concat(rows, ignore_index=True) if rows else gpd.GeoDataFrame()
