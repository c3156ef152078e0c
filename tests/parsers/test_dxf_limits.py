"""The profile's max_entities and max_vertices, enforced by both DXF readers: counted
before anything is built, one DXF-001 at the drawing over either, the package rejected.

Each drawing is built in code; the limit is set to its exact count (read) and one below
(not read), the count taken from ezdxf's own tag reader.
"""

from __future__ import annotations

import io
from pathlib import Path

import ezdxf
import pytest
from ezdxf.lldxf.tagger import ascii_tags_loader

from engine.precheck import precheck
from parsers.dxf import read_drawing
from parsers.dxf_fast import read_dxf_fast
from schemas.profile import Limits, load_profile
from tests.corpus.builders import FLOOR, clean, profile_toml, write_dir

REL = "drawings/floors/0001.dxf"
_FRAMES = {"SECTION", "ENDSEC", "EOF", "TABLE", "ENDTAB", "VERTEX", "SEQEND"}


def _counts(ascii_dxf: bytes) -> tuple[int, int]:
    """(records, points) by ezdxf's tag reader: records without frames and VERTEX/SEQEND,
    points = an x (10/11) followed by its y (20/21)."""
    tags = list(ascii_tags_loader(io.StringIO(ascii_dxf.decode("utf-8", "replace"))))
    records = sum(1 for t in tags if t.code == 0 and str(t.value).upper() not in _FRAMES)
    points = sum(1 for a, b in zip(tags, tags[1:], strict=False) if a.code in (10, 11) and b.code in (20, 21))
    return records, points


def _lines(n: int):
    doc = ezdxf.new("R2010")
    msp = doc.modelspace()
    for i in range(n):
        msp.add_line((i, 0), (i, 1), dxfattribs={"layer": "L"})
    return doc


def _polyline(n: int):
    doc = ezdxf.new("R2010")
    doc.modelspace().add_lwpolyline([(i, i % 7) for i in range(n)], dxfattribs={"layer": "FC_C"})
    return doc


def _save(doc, tmp_path: Path, fmt: str) -> tuple[bytes, bytes]:
    """The file in ``fmt`` and the same drawing in ASCII (for the count)."""
    doc.saveas(tmp_path / "a.dxf")
    doc.saveas(tmp_path / "d.dxf", fmt=fmt)
    return (tmp_path / "d.dxf").read_bytes(), (tmp_path / "a.dxf").read_bytes()


# the fast path reads a healthy ASCII R2010; binary DXF is refused by it: ezdxf's reader
READERS = {"fast": "asc", "ezdxf": "bin"}


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("kind", ["entities", "vertices"])
def test_a_drawing_over_a_limit_is_one_dxf001_and_not_read(tmp_path, reader, kind):
    doc = _lines(300) if kind == "entities" else _polyline(3000)
    data, text = _save(doc, tmp_path, READERS[reader])
    records, points = _counts(text)
    exact = records if kind == "entities" else points
    assert (read_dxf_fast(data, REL) is not None) == (reader == "fast")

    def limits(n: int) -> Limits:
        return Limits(**{f"max_{kind}": n})

    drawing, findings = read_drawing(data, REL, limits(exact))  # at the limit: read
    assert drawing.readable and not [f for f in findings if f.code == "DXF-001"]
    assert len(drawing.shapes) == (300 if kind == "entities" else 1)

    drawing, findings = read_drawing(data, REL, limits(exact - 1))  # one over: not read
    assert [(f.code, f.object.file, f.object.layer) for f in findings] == [("DXF-001", REL, None)]
    assert f"max_{kind}" in findings[0].message and str(exact - 1) in findings[0].message
    assert not drawing.readable and drawing.shapes.empty and drawing.texts.empty


@pytest.mark.parametrize("reader", sorted(READERS))
def test_a_package_with_a_drawing_over_the_limit_is_rejected(tmp_path, reader):
    model, files = clean()
    others = max(_counts(files[rel])[0] for rel in files if rel.endswith(".dxf") and rel != FLOOR)
    data, _ = _save(_lines(others + 50), tmp_path, READERS[reader])
    files[FLOOR] = data
    package = write_dir(tmp_path / "pkg", model, files)
    profile = load_profile(profile_toml(tmp_path, max_entities=others + 10))
    result = precheck(package, profile, tmp_path / "work")
    over = [f for f in result.findings if f.code == "DXF-001"]
    assert [f.object.file for f in over] == [FLOOR]
    assert result.verdict.verdict == "rejected"
