"""Label joins: polygons of a layer with the texts inside them, orphans, nearest labels."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from parsers.dxf_entities import Rows
from schemas import labels
from schemas.package import Drawing


def drawing(shapes=(), texts=()) -> Drawing:
    """A drawing from ``(handle, layer, ring, closed)`` shapes and ``(handle, layer,
    text, x, y)`` texts, built as the reader builds frames."""
    rows = Rows()
    for handle, layer, ring, closed in shapes:
        rows.add_shape(handle, layer, "LWPOLYLINE", np.asarray(ring, dtype=float), closed, None)
    for handle, layer, text, x, y in texts:
        rows.add_text(handle, layer, "TEXT", text, (x, y))
    s, p, t = rows.frames()
    return Drawing(path="drawings/floors/0001.dxf", shapes=s, points=p, texts=t)


def square(x0, y0, size):
    return [(x0, y0), (x0 + size, y0), (x0 + size, y0 + size), (x0, y0 + size)]


def by_handle(frame: gpd.GeoDataFrame) -> pd.DataFrame:
    return frame.set_index("handle")


def test_nested_polygons_label_goes_to_the_smallest():
    d = drawing(
        shapes=[("F1", "FC_C", square(0, 0, 100), True), ("U1", "FC_C", square(10, 10, 10), True)],
        texts=[("T1", "FC_C", "1层", 50, 50), ("T2", "FC_C", "inner", 15, 15)],
    )
    polys = by_handle(labels.polygons(d, "FC_C"))
    assert polys.loc["F1", "labels"] == ["1层"]
    assert polys.loc["U1", "labels"] == ["inner"]
    assert polys.loc["U1", "label_handles"] == ["T2"]
    assert polys.loc["F1", "label"] == "1层"
    assert list(labels.polygons(d, "FC_C").columns) == labels.POLYGON_COLUMNS


def test_labels_of_other_layers_do_not_count():
    d = drawing(
        shapes=[("F1", "FC_C", square(0, 0, 100), True), ("U1", "FC_H", square(10, 10, 10), True)],
        texts=[("T1", "FC_H", "0101", 15, 15), ("T2", "FC_C", "1层", 15, 16)],
    )
    floors = by_handle(labels.polygons(d, "FC_C"))
    units = by_handle(labels.polygons(d, "FC_H"))
    assert floors.loc["F1", "labels"] == ["1层"]  # the unit of another layer does not hide it
    assert units.loc["U1", "labels"] == ["0101"]


def test_label_outside_every_polygon_is_an_orphan():
    d = drawing(
        shapes=[("U1", "FC_H", square(0, 0, 10), True)],
        texts=[
            ("T1", "FC_H", "0101", 5, 5),
            ("T2", "FC_H", "0102", 50, 50),
            ("T3", "FC_H", "edge", 10, 5),
        ],
    )
    orphans = labels.orphan_labels(d, "FC_H")
    assert list(orphans["handle"]) == ["T2", "T3"]  # on the boundary is not inside
    assert list(orphans.columns) == list(d.texts.columns)
    assert by_handle(labels.polygons(d, "FC_H")).loc["U1", "labels"] == ["0101"]


def test_two_labels_in_one_polygon_in_drawing_order():
    d = drawing(
        shapes=[("U1", "FC_H", square(0, 0, 10), True), ("U2", "FC_H", square(20, 0, 10), True)],
        texts=[("T1", "FC_H", "0101", 2, 2), ("T2", "FC_H", "0102", 8, 8)],
    )
    polys = by_handle(labels.polygons(d, "FC_H"))
    assert polys.loc["U1", "labels"] == ["0101", "0102"]
    assert polys.loc["U1", "label_handles"] == ["T1", "T2"]
    assert polys.loc["U1", "label"] == "0101"
    assert polys.loc["U2", "labels"] == [] and polys.loc["U2", "label"] is None
    assert polys.loc["U2", "label_handles"] == []


def test_open_shapes_and_empty_texts_are_not_polygons_or_labels():
    d = drawing(
        shapes=[("O1", "FC_H", square(0, 0, 10), False), ("U1", "FC_H", square(20, 0, 10), True)],
        texts=[("T1", "FC_H", "", 25, 5), ("T2", "FC_H", "0101", 5, 5)],
    )
    polys = labels.polygons(d, "FC_H")
    assert list(polys["handle"]) == ["U1"]
    assert polys["labels"].iloc[0] == []
    assert list(labels.orphan_labels(d, "FC_H")["handle"]) == ["T2"]


def test_invalid_polygons_are_kept_as_drawn():
    bowtie = [(0, 0), (10, 10), (10, 0), (0, 10)]
    d = drawing(
        shapes=[("B1", "FC_H", bowtie, True), ("D1", "FC_H", [(0, 0), (5, 5)], True)],
        texts=[("T1", "FC_H", "left", 2, 5)],
    )
    polys = by_handle(labels.polygons(d, "FC_H"))
    assert not polys.loc["B1", "geometry"].is_valid
    assert "Self-intersection" in shapely.is_valid_reason(polys.loc["B1", "geometry"])
    assert polys.loc["B1", "labels"] == ["left"]
    assert not polys.loc["D1", "geometry"].is_valid
    assert polys.loc["D1", "geometry"].area == 0


def test_empty_layer():
    d = drawing()
    assert len(labels.polygons(d, "FC_H")) == 0
    assert list(labels.polygons(d, "FC_H").columns) == labels.POLYGON_COLUMNS
    assert len(labels.orphan_labels(d, "FC_H")) == 0


def test_nearest_labels_within_radius():
    points = gpd.GeoDataFrame(
        {"handle": ["P1", "P2", "P3"]},
        geometry=shapely.points([(0, 0), (100, 0), (200, 0)]),
        index=[10, 11, 12],
    )
    texts = gpd.GeoDataFrame(
        {"handle": ["J1", "J2", "J3", "X"], "text": ["J1", "J2", "J3", ""]},
        geometry=gpd.GeoSeries(shapely.points([(1.5, 0), (0, 1.9), (103, 0), (200, 0.1)])),
    )
    got = labels.nearest_labels(points, texts, max_distance=2.0)
    assert list(got.index) == [10, 11, 12]
    assert got.loc[10] == "J1"  # the nearest of two within the radius
    assert got.loc[11] is None  # J3 is 3 m away
    assert got.loc[12] is None  # an empty text is no label
    assert labels.nearest_labels(points, texts, max_distance=3.5).loc[11] == "J3"


def test_nearest_labels_no_texts():
    points = gpd.GeoDataFrame({"handle": ["P1"]}, geometry=gpd.GeoSeries(shapely.points([(0, 0)])))
    texts = gpd.GeoDataFrame({"text": []}, geometry=gpd.GeoSeries([], dtype="geometry"))
    assert labels.nearest_labels(points, texts, 2.0).tolist() == [None]


@pytest.mark.parametrize("n", [2000])
def test_many_units_join_fast(n):
    """10 000-unit plans are joined by an STRtree, not a Python loop over units."""
    shapes = [(f"U{i}", "FC_H", square((i % 50) * 12, (i // 50) * 12, 10), True) for i in range(n)]
    texts = [(f"T{i}", "FC_H", f"{i:04d}", (i % 50) * 12 + 5, (i // 50) * 12 + 5) for i in range(n)]
    d = drawing(shapes, texts)
    polys = labels.polygons(d, "FC_H")  # its time is the benchmarks' to report
    assert polys["label"].tolist() == [f"{i:04d}" for i in range(n)]
