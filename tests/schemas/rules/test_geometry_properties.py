"""Geometry rules are invariant under moving and rotating a parcel, and see its orientation:
a valid polygon moved or rotated keeps its areas; a ring reversed flips CAD-007."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.schemas.rules.test_cadastral import SQUARE, context, frame, point_rows, raw_tables, run


def moved(angle: float, de: float, dn: float) -> list[tuple[float, float]]:
    """The 60 m × 50 m parcel rotated about its centre and moved, as (east, north) offsets
    rounded to the table's 3 decimals, clockwise on the map from the north-west point."""
    pts = np.array(SQUARE) - [30.0, 25.0]
    c, s = math.cos(angle), math.sin(angle)
    turned = pts @ np.array([[c, s], [-s, c]]) + [30.0 + de, 25.0 + dn]  # rotates clockwise by angle
    ring = [(round(e, 3), round(n, 3)) for e, n in turned]
    nw = (min(e for e, _ in ring), max(n for _, n in ring))
    start = min(range(len(ring)), key=lambda i: math.dist(ring[i], nw))
    return ring[start:] + ring[:start]


def coordinate_area(ring: list[tuple[float, float]]) -> float:
    e = np.array([p[0] for p in ring])
    n = np.array([p[1] for p in ring])
    return abs(0.5 * np.sum(e * np.roll(n, -1) - np.roll(e, -1) * n))


# the arguments of :func:`moved`: a rotation about the parcel's centre and a move
MOVES = given(
    angle=st.floats(min_value=0, max_value=2 * math.pi, allow_nan=False),
    de=st.floats(min_value=-5_000, max_value=5_000),
    dn=st.floats(min_value=-5_000, max_value=5_000),
)


def codes_for(ring: list[tuple[float, float]]) -> set[str]:
    raw = raw_tables(points=frame(point_rows(ring)), zdmj=round(coordinate_area(ring), 2))
    return {f.code for f in run(context(raw, drawing=False), "CAD-007", "CAD-009", "CAD-010")}


@settings(max_examples=40, deadline=None, derandomize=True)
@MOVES
def test_moved_or_rotated_parcel_keeps_its_area_and_orientation(angle, de, dn):
    ring = moved(angle, de, dn)
    assert math.isclose(coordinate_area(ring), 3000.0, abs_tol=0.2)  # only the 3-dp rounding moves it
    assert codes_for(ring) == set()


@settings(max_examples=40, deadline=None, derandomize=True)
@MOVES
def test_reversed_ring_flips_cad007(angle, de, dn):
    ring = moved(angle, de, dn)
    reversed_ring = [ring[0], *ring[:0:-1]]  # same J1, counter-clockwise
    assert codes_for(reversed_ring) == {"CAD-007"}
