"""Our own judgement of a drawing's skeleton (HEADER … OBJECTS without the entities) says
"clean" only where ezdxf's recover mode and auditor find nothing; the tables the fast path
copied from ezdxf are ezdxf's; a check of packages read by the fast path imports neither
ezdxf nor pydantic."""

from __future__ import annotations

import io
import random
import subprocess
import sys
from pathlib import Path

import ezdxf
import pytest
from ezdxf.audit import REQUIRED_ROOT_DICT_ENTRIES
from ezdxf.entities.dxfgfx import DXFGraphic
from ezdxf.entities.factory import ENTITY_CLASSES
from ezdxf.lldxf import const, encoding, types, validator
from ezdxf.sections.objects import KNOWN_DICT_CONTENT
from ezdxf.tools import codepage

from parsers import dxf_codes, dxf_health, dxf_skeleton
from parsers.dxf_skeleton import plainly_clean

ROOT = Path(__file__).resolve().parents[2]
CORPUS = sorted((ROOT / "tests" / "corpus").rglob("*.dxf"))


def test_the_copied_tables_are_ezdxfs():
    for name in ("POINT_CODES", "POINTER_CODES", "BINARY_DATA", "BYTES", "INT16", "INT32", "INT64", "DOUBLE"):
        assert getattr(dxf_codes, name) == set(getattr(types, name)), name
    assert dxf_codes.VALID_DXF_LINEWEIGHT_VALUES == set(const.VALID_DXF_LINEWEIGHT_VALUES)
    assert dxf_codes.TRANSPARENCY_BYBLOCK == const.TRANSPARENCY_BYBLOCK
    assert dxf_codes.INVALID_NAME_CHARACTERS == const.INVALID_NAME_CHARACTERS == dxf_skeleton.INVALID_NAME_CHARACTERS
    assert dxf_codes.NOT_GRAPHICAL == {
        n for n, cls in ENTITY_CLASSES.items() if not issubclass(cls, DXFGraphic) or n == "ACAD_TABLE"
    }
    assert dxf_codes.CODEPAGE_TO_ENCODING == codepage.codepage_to_encoding
    assert dxf_skeleton.REQUIRED_ROOT_DICT_ENTRIES == tuple(REQUIRED_ROOT_DICT_ENTRIES)
    assert dxf_skeleton.KNOWN_DICT_CONTENT == KNOWN_DICT_CONTENT
    assert dxf_codes.MIF_CODE_PAGE == encoding.MIF_CODE_PAGE


@pytest.mark.parametrize("text", ["0", "YDHX", "a<b", "*ADSK", "*", "x\\U+4E2Dy", "\\M+5B6C7", "a=b", "图层", "\\U+003C",
                                  "q`", "\\U+4e2d\\M+1A0A0 and \\M+9ZZZZ", "\\M+5ZZZZ"])
def test_the_copied_functions_are_ezdxfs(text):
    assert dxf_codes.is_valid_layer_name(text) == validator.is_valid_layer_name(text)
    assert dxf_codes.is_valid_table_name(text) == validator.is_valid_table_name(text)
    assert dxf_codes.has_dxf_unicode(text) == encoding.has_dxf_unicode(text)
    assert dxf_codes.decode_dxf_unicode(text) == encoding.decode_dxf_unicode(text)
    assert dxf_codes.has_mif_encoding(text) == encoding.has_mif_encoding(text)
    assert dxf_codes.decode_mif_to_unicode(text) == encoding.decode_mif_to_unicode(text)
    for page in ("ANSI_936", "ANSI_1252", "ANSI_932", "UTF8", text):
        assert dxf_codes.toencoding(page) == codepage.toencoding(page)
    for value in (0, 1, 0x01000000, 0x02000000, 0x020000FF, 255, "x", None):
        assert dxf_codes.is_transparency(value) == validator.is_transparency(value)


def _skeleton(data: bytes, monkeypatch) -> list[bytes] | None:
    """The skeleton the health check would judge (None: refused before)."""
    kept: list[list[bytes]] = []
    monkeypatch.setattr(dxf_health, "_check_skeleton",
                        lambda lines, start, end, inside: kept.append(lines[: 2 * start] + inside + lines[2 * end :]))
    try:
        dxf_health.healthy_tags(data)
    except Exception:  # noqa: BLE001 — any refusal: nothing reaches the skeleton judgement
        return None
    return kept[0] if kept else None


def _ezdxf_clean(lines: list[bytes]) -> bool:
    return dxf_health._ezdxf_audit(b"\n".join(lines) + b"\n") is None


def _written(doc) -> bytes:
    stream = io.StringIO()
    doc.write(stream)
    return stream.getvalue().encode("utf-8")


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> list[bytes]:
    """Drawings of the sample packages S in our style and in AutoCAD 2013's, and new ezdxf
    documents of each version."""
    from sample_data import make_package

    out = []
    for name, options in (("S", {}), ("S-acad", {"dxf_version": "R2013", "autocad": True})):
        package = make_package(tmp_path_factory.mktemp(name), "S", **options)
        out += [p.read_bytes() for p in sorted(package.rglob("*.dxf"))]
    for version in ("R2000", "R2004", "R2007", "R2010", "R2013", "R2018"):
        doc = ezdxf.new(version)
        doc.modelspace().add_line((0, 0), (1, 1))
        out.append(_written(doc))
    return out


def test_the_samples_are_vouched_for(samples, monkeypatch):
    """The sample drawings (ours, AutoCAD-style, new ezdxf documents): clean by our own
    judgement, so their check needs no ezdxf — and ezdxf agrees."""
    for data in samples:
        lines = _skeleton(data, monkeypatch)
        assert lines is not None and plainly_clean(lines) and _ezdxf_clean(lines)


def test_clean_only_where_ezdxf_finds_nothing_on_the_corpus(monkeypatch):
    judged = 0
    for path in CORPUS:
        lines = _skeleton(path.read_bytes(), monkeypatch)
        if lines is not None and plainly_clean(lines):
            judged += 1
            assert _ezdxf_clean(lines), path.name
    assert judged >= 5


def _mutated(lines: list[bytes], rng: random.Random) -> list[bytes]:
    lines = list(lines)
    for _ in range(rng.randint(1, 2)):
        starts = [i for i in range(0, len(lines), 2) if lines[i].strip() == b"0"] + [len(lines)]
        op = rng.randrange(6)
        i = rng.randrange(0, len(lines), 2)
        if op == 0:  # a record gone
            k = rng.randrange(len(starts) - 1)
            del lines[starts[k] : starts[k + 1]]
        elif op == 1:  # a tag gone
            del lines[i : i + 2]
        elif op == 2:  # a value of another tag of the same code (handles, names, numbers)
            same = [j for j in range(0, len(lines), 2) if lines[j].strip() == lines[i].strip() and j != i]
            if same:
                lines[i + 1] = lines[rng.choice(same) + 1]
        elif op == 3:  # a record twice
            k = rng.randrange(len(starts) - 1)
            lines[starts[k] : starts[k]] = lines[starts[k] : starts[k + 1]]
        elif op == 4:  # an odd value
            lines[i + 1] = rng.choice([b"", b"0", b"FFFF", b"X", b"ByBlock", b"Continuous", b"1", b"-1",
                                       b"*Paper_Space", b"Model", b"$X", b"3", b" A"])
        else:  # two records swapped
            a, b = sorted(rng.sample(range(len(starts) - 1), 2))
            first, second = lines[starts[a] : starts[a + 1]], lines[starts[b] : starts[b + 1]]
            lines[starts[b] : starts[b + 1]] = first
            lines[starts[a] : starts[a + 1]] = second
    return lines


@pytest.mark.parametrize("seed", range(4))
def test_clean_only_where_ezdxf_finds_nothing_on_damaged_skeletons(seed, samples, monkeypatch):
    """Records and tags deleted, doubled, swapped, given another's or an odd value: where
    the damage passes the health check's own tests and our judgement still says clean,
    ezdxf reads and audits the skeleton without an error or a fix."""
    rng = random.Random(seed)
    bases = [lines for data in samples if (lines := _skeleton(data, monkeypatch)) is not None]
    vouched = 0
    for _ in range(300):
        damaged = _mutated(rng.choice(bases), rng)
        lines = _skeleton(b"\n".join(damaged) + b"\n", monkeypatch)
        if lines is not None and plainly_clean(lines):
            vouched += 1
            assert _ezdxf_clean(lines), b"\n".join(lines).decode("utf-8", "replace")
    assert vouched >= 30  # the damage is often harmless (a value for a value): those are asked


CHECK = """
import sys
from pathlib import Path
from engine.precheck import precheck, workspace
from schemas.profile import load_profile
import interfaces.cli
for source in sys.argv[1:]:
    with workspace() as wd:
        result = precheck(Path(source), load_profile(), wd)
    assert result.counts["error"] == 0, result.findings
print(sorted({m.split(".")[0] for m in sys.modules} & {"ezdxf", "pydantic", "pydantic_core", "pandera"}))
"""


def test_a_check_of_fast_path_packages_imports_neither_ezdxf_nor_pydantic(tmp_path):
    """S and the AutoCAD-2013 style (as L-acad's drawings are written) are read whole by the
    fast path: the check imports no ezdxf (≈ 0.17 s) and no pydantic (the profile)."""
    from sample_data import make_package

    plain = make_package(tmp_path / "s", "S")
    acad = make_package(tmp_path / "acad", "S", dxf_version="R2013", autocad=True)
    done = subprocess.run([sys.executable, "-c", CHECK, str(plain), str(acad)], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
