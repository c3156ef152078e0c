"""Drawings made the way CASS, EPS and AutoCAD make them (tests/corpus/cad_practice.py),
and the invariant of issue 15: no drawing the check could not judge in full leads to
``accepted`` — tested as a property over the outside corpus, the emulations and random
breaks of the sample's own drawings."""

from __future__ import annotations

import io
import json
import random
import warnings
from pathlib import Path

import ezdxf
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from engine.precheck import precheck
from interfaces.cli import app
from parsers.dxf import read_dxf
from parsers.dxf_fast import read_dxf_fast
from schemas.drawings import POLYGON_LAYERS
from schemas.profile import load_profile
from tests.corpus.builders import PARCEL, SITE, clean
from tests.corpus.cad_practice import (
    CASS_LAYERS,
    EMULATIONS,
    emulation,
    frame_differences,
    invariant_breaks,
    package_with,
    parcel_cass,
    site_eps,
)
from tests.corpus.test_outside_corpus import FILES, OUTSIDE

runner = CliRunner()
CONTRACT = {SITE: ("YDHX", "DLHX", "JZJD", "LDFW"), PARCEL: ("ZD", "JZD", "JZX")}


@pytest.fixture(scope="module")
def cass_toml(tmp_path_factory) -> Path:
    from tests.corpus.cad_practice import cass_profile

    return cass_profile(tmp_path_factory.mktemp("profile") / "cass.toml")


def quiet_read(data: bytes, rel: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_dxf(data, rel), read_dxf_fast(data, rel)


# --------------------------------------------------------------------------- reading


@pytest.mark.parametrize("name", EMULATIONS)
def test_the_fast_path_takes_practice_drawings_and_agrees(name: str) -> None:
    """Healthy R2000+ drawings, AutoCAD 2013 output included: the fast path answers
    (issue 15 item 3) with ezdxf's frames."""
    files, _, _ = emulation(name)
    for rel, data in files.items():
        (slow, slow_findings), fast = quiet_read(data, rel)
        assert slow_findings == [], (rel, [f.code for f in slow_findings])
        assert fast is not None, f"{name}: the fast path refused {rel}"
        assert fast[1] == []
        assert frame_differences(fast[0], slow) == [], rel


def test_cass_xdata_is_read_whole_and_the_title_block_is_its_own_layer() -> None:
    model, _ = clean()
    (drawing, findings), _ = quiet_read(parcel_cass(model), PARCEL)
    assert findings == []
    zd = drawing.shapes[drawing.shapes["layer"] == CASS_LAYERS["ZD"]]
    assert len(zd) == 1
    assert tuple(zd["xdata"].iloc[0]) == ("300000", model.parcel.zddm)
    jzd = drawing.points[drawing.points["layer"] == CASS_LAYERS["JZD"]]
    assert list(jzd["dxftype"]) == ["INSERT"] * len(model.parcel.points)
    arrow = drawing.points[drawing.points["layer"] == "ZBZ"]
    assert [(g.x, g.y) for g in arrow.geometry] == [(0.0, 0.0)]


def test_eps_labels_lose_their_formatting_and_the_arc_is_read() -> None:
    model, _ = clean()
    data, pieces = site_eps(model)
    (drawing, _), _ = quiet_read(data, SITE)
    labels = drawing.texts[drawing.texts["layer"] == CASS_LAYERS["JZJD"]]
    assert sorted(labels["text"]) == sorted(b.label.text for b in model.buildings)
    arcs = drawing.shapes[drawing.shapes["dxftype"] == "ARC"]
    assert list(arcs["handle"]) == [pieces["LDFW:0"][0]]
    assert not arcs["closed"].any()


# --------------------------------------------------------------------------- the check


def check_cli(pkg: Path, tmp_path: Path, monkeypatch, profile: Path | None) -> dict:
    monkeypatch.setenv("DUOCE_WORKDIR", str(tmp_path / "work"))
    out = tmp_path / "findings.json"
    args = ["check", str(pkg), "--json", str(out)]
    if profile:
        args += ["--profile", str(profile)]
    result = runner.invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output and "内部错误" not in result.output, result.output[
        -3000:
    ]
    assert result.exit_code in (0, 1), result.output[-3000:]
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert result.exit_code == int(doc["verdict"] != "accepted") or doc["counts"]["error"] == 0
    return doc


def handles_of(data: bytes, rel: str, layer: str) -> set[str]:
    (drawing, _), _ = quiet_read(data, rel)
    return {
        h
        for frame in (drawing.shapes, drawing.points, drawing.texts)
        for h in frame.loc[frame["layer"] == layer, "handle"]
    }


@pytest.mark.parametrize("name", EMULATIONS)
def test_practice_drawing_in_a_package(name: str, tmp_path: Path, monkeypatch, cass_toml) -> None:
    files, cass, meets = emulation(name)
    pkg = package_with(tmp_path / "pkg", files)
    doc = check_cli(pkg, tmp_path, monkeypatch, cass_toml if cass else None)
    found = doc["findings"]
    codes = {f["code"] for f in found}
    if meets:  # title block and north arrow at the origin, XDATA labels, AutoCAD output
        assert found == [], [(f["code"], f["object"]) for f in found]
        assert doc["verdict"] == "accepted"
        return
    assert doc["verdict"] != "accepted"
    rel, data = next(iter(files.items()))
    if name == "cass-parcel-code-only":
        zd = handles_of(data, rel, CASS_LAYERS["ZD"])
        assert any(f["code"] == "DXF-006" and f["object"].get("handle") in zd for f in found), found
    elif name == "cass-parcel-moved-5m":
        zd = handles_of(data, rel, CASS_LAYERS["ZD"])
        assert any(f["object"].get("handle") in zd and f["severity"] == "error" for f in found), (
            found
        )
    elif name == "eps-site":
        model, _ = clean()
        _, pieces = site_eps(model)
        for ring, handles in pieces.items():
            assert any(
                f["code"] == "DXF-009" and f["object"].get("handle") in handles for f in found
            ), (
                ring,
                found,
            )
        assert codes <= {"DXF-009"}, sorted(codes)  # labels read, no open piece, no CRS


# --------------------------------------------------------------------------- the invariant

KINDS = ("delete", "explode", "origin", "truncate", "outside", "emulation")


def _doc(data: bytes):
    return ezdxf.read(io.StringIO(data.decode("utf-8")))


def _save(doc) -> bytes:
    stream = io.StringIO()
    doc.write(stream)
    return doc.encode(stream.getvalue())


def _first_point(e) -> tuple[float, float]:
    kind = e.dxftype()
    if kind == "LWPOLYLINE":
        x, y = e.get_points("xy")[0]
    elif kind == "LINE":
        x, y = e.dxf.start.x, e.dxf.start.y
    elif kind == "CIRCLE":
        x, y = e.dxf.center.x, e.dxf.center.y
    else:
        x, y = e.dxf.insert.x, e.dxf.insert.y
    return float(x), float(y)


def mutate(kind: str, rng: random.Random):
    """One break: ``(files to write over S, (file, handle) that must carry a finding,
    whether the package must be rejected, what was done)``."""
    _, files = clean()
    if kind == "outside":
        rel = rng.choice([SITE, PARCEL])
        name = rng.choice(FILES)
        return {rel: (OUTSIDE / name).read_bytes()}, [], True, f"{name} as {rel}", None
    if kind == "emulation":
        name = rng.choice(EMULATIONS)
        new, cass, meets = emulation(name)
        return new, [], not meets, name, cass
    rel = rng.choice([SITE, PARCEL])
    data = files[rel]
    contract = set(CONTRACT[rel])
    if kind == "truncate":
        cut = rng.randrange(len(data))
        cut_data = data[:cut]
        whole = cut_data.rstrip().endswith(b"EOF")
        return {rel: cut_data}, [], not whole, f"{rel} cut at {cut}/{len(data)}", None
    doc = _doc(data)
    msp = doc.modelspace()
    if kind == "explode":
        polylines = [e for e in msp if e.dxftype() == "LWPOLYLINE"]
        e = rng.choice(polylines)
        layer, handle = e.dxf.layer, e.dxf.handle
        e.explode()
        return (
            {rel: _save(doc)},
            [],
            layer in POLYGON_LAYERS,
            f"{rel}: exploded {handle} on {layer}",
            None,
        )
    entities = list(msp)
    e = rng.choice(entities)
    handle, layer, typ = e.dxf.handle, e.dxf.layer, e.dxftype()
    if kind == "delete":
        msp.delete_entity(e)
        vital = (
            (typ == "LWPOLYLINE" and layer in {"YDHX", "JZJD", "ZD"})
            or (layer == "JZD")
            or (layer == "JZJD")
        )
        return {rel: _save(doc)}, [], vital, f"{rel}: deleted {typ} {handle} on {layer}", None
    x, y = _first_point(e)
    e.translate(-x, -y, 0)
    on_contract = layer in contract
    must = [(rel, handle)] if on_contract else []
    return (
        {rel: _save(doc)},
        must,
        on_contract,
        f"{rel}: {typ} {handle} on {layer} moved to the origin",
        None,
    )


@settings(
    max_examples=18,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(kind=st.sampled_from(KINDS), seed=st.integers(0, 2**32 - 1))
def test_no_drawing_judged_in_part_is_accepted(
    kind: str, seed: int, tmp_path_factory, cass_toml
) -> None:
    replace, must, reject, what, cass = mutate(kind, random.Random(seed))
    tmp = tmp_path_factory.mktemp("inv")
    pkg = package_with(tmp / "pkg", replace)
    profile = load_profile(cass_toml) if cass else load_profile()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = precheck(pkg, profile, tmp / "work")
    breaks = invariant_breaks(result, must_find=must, reject=reject)
    assert breaks == [], (
        what,
        breaks,
        sorted((f.code, f.object.file, f.object.handle) for f in result.findings)[:20],
    )
