"""The outside corpus (tests/corpus/outside/): public DXF files of GDAL and ezdxf.

Each file is read by both readers (where the fast path answers, the frames are the same),
and each, as ``drawings/site.dxf`` and as ``drawings/parcel.dxf`` of an otherwise valid
package, goes through ``duoce check`` as a user runs it: exit 0 or 1, no traceback, no
internal error, a valid findings.json, and never ``accepted`` (none of these files holds
the contract's layers: DXF-003, or DXF-001 for what cannot be read).
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

from interfaces.cli import app
from parsers.dxf import read_dxf
from parsers.dxf_fast import read_dxf_fast
from schemas.catalogue import CATALOGUE
from tests.corpus.builders import PARCEL, SITE
from tests.corpus.cad_practice import frame_differences, package_with

OUTSIDE = Path(__file__).parent / "outside"
FILES = sorted(p.name for p in OUTSIDE.iterdir() if p.name != "README.md")
runner = CliRunner()


def blob_id(data: bytes) -> str:
    """The git blob id of ``data`` (what ``git hash-object`` prints)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def test_the_readme_names_every_file_with_its_bytes() -> None:
    readme = (OUTSIDE / "README.md").read_text(encoding="utf-8")
    rows = {
        m.group(1): (m.group(2), int(m.group(3)))
        for m in re.finditer(
            r"^\| `([^`]+)` \|[^|]+\|[^|]+\|[^|]+\| `([0-9a-f]{40})` \| (\d+) \|", readme, re.M
        )
    }
    assert sorted(rows) == FILES
    for name, (blob, size) in rows.items():
        data = (OUTSIDE / name).read_bytes()
        assert (blob_id(data), len(data)) == (blob, size), name
    assert sum((OUTSIDE / n).stat().st_size for n in FILES) < 3_000_000
    assert len(FILES) >= 20


@pytest.mark.parametrize("name", FILES)
def test_both_readers_agree(name: str) -> None:
    """Where the fast path answers, it gives ezdxf's frames and no findings."""
    data = (OUTSIDE / name).read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        slow, _ = read_dxf(data, SITE)
        fast = read_dxf_fast(data, SITE)
    if fast is None:
        return  # refused: ezdxf reads it
    drawing, findings = fast
    assert findings == []
    assert frame_differences(drawing, slow) == []


@pytest.mark.parametrize("where", [SITE, PARCEL])
@pytest.mark.parametrize("name", FILES)
def test_as_a_drawing_of_a_package(name: str, where: str, tmp_path: Path, monkeypatch) -> None:
    pkg = package_with(tmp_path / "pkg", {where: (OUTSIDE / name).read_bytes()})
    monkeypatch.setenv("DUOCE_WORKDIR", str(tmp_path / "work"))
    out = tmp_path / "findings.json"
    result = runner.invoke(app, ["check", str(pkg), "--json", str(out)])

    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output, result.output[-3000:]
    assert "内部错误" not in result.output, result.output[-3000:]
    assert result.exit_code in (0, 1), result.output[-3000:]
    doc = json.loads(out.read_text(encoding="utf-8"))
    for f in doc["findings"]:
        assert (
            f["code"] in CATALOGUE
            and f["severity"] in ("error", "warning", "info")
            and f["message"]
        )
    assert doc["verdict"] != "accepted"
    assert result.exit_code == 1
    on_file = {f["code"] for f in doc["findings"] if f["object"].get("file") == where}
    assert on_file & {"DXF-001", "DXF-003"}, sorted(on_file)
