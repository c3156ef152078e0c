"""Fuzzing the readers: mutated DXF and XLSX bytes of the clean sample S go through the
parsers and the whole pre-check. Nothing may raise, nothing may crash a rule, and every
result is findings of the catalogue.

Hypothesis runs derandomised with no example database, so CI sees the same examples on
every run; a failure prints the mutation to replay. ``DUOCE_FUZZ_EXAMPLES=2000`` runs that
many random (not derandomised) examples instead, for a deeper search by hand or at night.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from engine.precheck import precheck
from parsers.archive import open_package
from parsers.dxf import read_drawing, read_dxf
from parsers.report import read_report
from schemas.catalogue import CATALOGUE
from schemas.findings import Finding
from schemas.profile import load_profile
from tests.corpus.builders import (
    FLOOR,
    PARCEL,
    REPORT,
    SITE,
    clean,
    tables_of,
    workbook_bytes,
    write_dir,
)

PROFILE = load_profile()
DEEP = int(os.environ.get("DUOCE_FUZZ_EXAMPLES", "0"))
EXAMPLES = DEEP or 120
SLOWEST = 30.0  # seconds for one mutated package, parse and check
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not DEEP,
    database=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)


def assert_findings(findings: list[Finding]) -> None:
    for f in findings:
        assert isinstance(f, Finding), f
        assert f.code in CATALOGUE and f.severity in ("error", "warning", "info") and f.message


class Workbench:
    """One clean package directory whose files a test overwrites and restores."""

    def __init__(self, root: Path) -> None:
        model, files = clean()
        self.files = files
        self.openpyxl_report = workbook_bytes(tables_of(model))  # shared strings, styles
        self.path = write_dir(root / "pkg", model, files)
        self.work = root / "work"

    def check(self, rel: str, data: bytes):
        target = self.path / rel
        original = target.read_bytes()
        target.write_bytes(data)
        try:
            start = time.perf_counter()
            result = precheck(self.path, PROFILE, self.work)
            elapsed = time.perf_counter() - start
        finally:
            target.write_bytes(original)
            shutil.rmtree(self.work, ignore_errors=True)
        assert result.internal_errors == [], result.internal_errors[0][:3000]
        assert_findings(result.findings)
        assert elapsed < SLOWEST, f"{elapsed:.1f} s"
        event("codes: " + (" ".join(sorted({f.code for f in result.findings})) or "none"))
        return result


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Workbench:
    return Workbench(tmp_path_factory.mktemp("fuzz"))


# --------------------------------------------------------------------------- byte mutations

Mutation = Callable[[bytes], bytes]


def _at(data: bytes, where: float) -> int:
    return min(int(where * len(data)), len(data))


@st.composite
def byte_mutation(draw: st.DrawFn) -> tuple[str, Mutation]:
    """Flip, delete, insert or duplicate one random byte range."""
    op = draw(st.sampled_from(["flip", "delete", "insert", "duplicate"]))
    where = draw(st.floats(0, 1))
    size = draw(st.integers(1, 256))
    payload = draw(st.binary(min_size=1, max_size=32))

    def apply(data: bytes) -> bytes:
        i = _at(data, where)
        if op == "flip":
            chunk = bytes(b ^ 0xFF for b in data[i : i + size])
            return data[:i] + chunk + data[i + len(chunk) :]
        if op == "delete":
            return data[:i] + data[i + size :]
        if op == "insert":
            return data[:i] + payload + data[i:]
        return data[:i] + data[i : i + size] + data[i:]

    return f"{op}@{where:.4f}×{size} {payload!r}", apply


# --------------------------------------------------------------------------- DXF group codes

GARBAGE_VALUES = [
    b"",
    b"nan",
    b"inf",
    b"-inf",
    b"1e309",
    b"-1e308",
    b"0x10",
    b"1.0abc",
    b"\xff\xfe\xfd",
    b"SECTION",
    b"ENDSEC",
    b"EOF",
    b"ENTITIES",
    b"LWPOLYLINE",
    b"99999999999999999999",
    b"-0",
    b"FFFFFFFFFF",
    b"0",
    b"1" * 300,
    "楼梯间".encode("gbk"),
    b"\x00",
    b"  ",
]
GARBAGE_CODES = [
    b"0",
    b"5",
    b"8",
    b"10",
    b"20",
    b"30",
    b"40",
    b"42",
    b"62",
    b"70",
    b"90",
    b"330",
    b"1001",
    b"1000",
    b"999",
    b"-1",
    b"100000",
    b"abc",
    b"",
]


@st.composite
def dxf_line_mutation(draw: st.DrawFn) -> tuple[str, Mutation]:
    """Delete, duplicate, insert or garble a (group code, value) pair of the tag stream."""
    op = draw(st.sampled_from(["delete", "duplicate", "code", "value", "insert", "swap"]))
    where = draw(st.floats(0, 1))
    code = draw(st.sampled_from(GARBAGE_CODES))
    value = draw(st.one_of(st.sampled_from(GARBAGE_VALUES), st.binary(max_size=12)))
    count = draw(st.integers(1, 40))

    def apply(data: bytes) -> bytes:
        lines = data.split(b"\n")
        pairs = max(len(lines) // 2, 1)
        k = min(int(where * pairs), pairs - 1) * 2
        if op == "delete":
            del lines[k : k + 2 * count]
        elif op == "duplicate":
            lines[k:k] = lines[k : k + 2 * count]
        elif op == "code":
            lines[k] = code
        elif op == "value" and k + 1 < len(lines):
            lines[k + 1] = value
        elif op == "insert":
            lines[k:k] = [code, value]
        elif op == "swap" and k + 3 < len(lines):
            lines[k], lines[k + 2] = lines[k + 2], lines[k]
        return b"\n".join(lines)

    return f"{op}@{where:.4f} n={count} code={code!r} value={value!r}", apply


dxf_mutations = st.lists(st.one_of(byte_mutation(), dxf_line_mutation()), min_size=1, max_size=3)


@FUZZ
@given(target=st.sampled_from([FLOOR, SITE, PARCEL]), mutations=dxf_mutations)
def test_mutated_dxf_never_raises(bench: Workbench, target: str, mutations) -> None:
    data = bench.files[target]
    for _label, apply in mutations:
        data = apply(data)
    for reader in (read_dxf, read_drawing):
        drawing, findings = reader(data, target)
        assert drawing.path == target
        assert_findings(findings)
    bench.check(target, data)


# --------------------------------------------------------------------------- XLSX parts

CELL_GARBAGE = [
    "",
    "-",
    "NaN",
    "1e400",
    "-1e400",
    "１２３",
    "99999999",
    "-1",
    "0x1F",
    "&amp;",
    "&lt;b&gt;",
    "2022-13-45",
    "1" * 400,
    "3.14.15",
    "   ",
    "TRUE",
    "#DIV/0!",
    "\u0000",
    "𠀀𠀁",
]
REFS = ["XFD1048576", "A0", "ZZZZ1", "", "A1048577", "B2", "A1", "XFD1", "A200000", "1A"]
ELEMENT = {
    "c": re.compile(rb"<c [^>]*?(?:/>|>.*?</c>)", re.S),
    "row": re.compile(rb"<row [^>]*?(?:/>|>.*?</row>)", re.S),
    "v": re.compile(rb"<v>.*?</v>", re.S),
    "sheet": re.compile(rb"<sheet [^>]*/>"),
    "si": re.compile(rb"<si>.*?</si>", re.S),
}
TAG = re.compile(rb"<[^>]+>")


def _pick(pattern: re.Pattern[bytes], data: bytes, where: float) -> re.Match[bytes] | None:
    found = list(pattern.finditer(data))
    return found[min(int(where * len(found)), len(found) - 1)] if found else None


@st.composite
def xml_mutation(draw: st.DrawFn) -> tuple[str, Callable[[bytes], bytes]]:
    """One change to a workbook part's XML: a tag or element removed or duplicated, a cell
    type changed, garbage in a value, a cell reference moved far away, a sheet renamed."""
    op = draw(
        st.sampled_from(
            ["del-tag", "del-element", "dup-element", "type", "value", "ref", "dimension", "rename"]
        )
    )
    where = draw(st.floats(0, 1))
    kind = draw(st.sampled_from(sorted(ELEMENT)))
    cell_type = draw(st.sampled_from([b"s", b"n", b"b", b"e", b"str", b"d", b"inlineStr", b"x"]))
    text = draw(st.one_of(st.sampled_from(CELL_GARBAGE), st.text(max_size=20)))
    ref = draw(st.sampled_from(REFS))

    def apply(data: bytes) -> bytes:
        if op == "del-tag":
            m = _pick(TAG, data, where)
            return data if m is None else data[: m.start()] + data[m.end() :]
        if op in ("del-element", "dup-element"):
            m = _pick(ELEMENT[kind], data, where)
            if m is None:
                return data
            return (
                data[: m.start()]
                + (m.group() * 2 if op == "dup-element" else b"")
                + data[m.end() :]
            )
        if op == "type":
            m = _pick(ELEMENT["c"], data, where)
            if m is None:
                return data
            head = re.sub(rb' t="[^"]*"', b"", m.group(), count=1)
            head = head.replace(b"<c ", b'<c t="' + cell_type + b'" ', 1)
            return data[: m.start()] + head + data[m.end() :]
        if op == "value":
            m = _pick(ELEMENT["v"], data, where)
            escaped = text.replace("&", "&amp;").replace("<", "&lt;").encode("utf-8", "replace")
            return (
                data
                if m is None
                else data[: m.start()] + b"<v>" + escaped + b"</v>" + data[m.end() :]
            )
        if op == "ref":
            refs = list(re.finditer(rb' r="[A-Z]+[0-9]+"', data))
            if not refs:
                return data
            m = refs[min(int(where * len(refs)), len(refs) - 1)]
            return data[: m.start()] + f' r="{ref}"'.encode() + data[m.end() :]
        if op == "dimension":
            return re.sub(
                rb'<dimension ref="[^"]*"',
                f'<dimension ref="A1:{ref or "A1"}"'.encode(),
                data,
                count=1,
            )
        # rename: a sheet takes another name (duplicate, empty, or garbage)
        m = _pick(ELEMENT["sheet"], data, where)
        if m is None:
            return data
        renamed = re.sub(
            rb'name="[^"]*"',
            f'name="{text[:31]}"'.replace("&", "").replace("<", "").encode(),
            m.group(),
            count=1,
        )
        return data[: m.start()] + renamed + data[m.end() :]

    return f"{op}@{where:.4f} {kind} t={cell_type!r} text={text!r} ref={ref}", apply


def mutate_xlsx(xlsx: bytes, member_pick: float, mutations) -> bytes:
    """Apply the mutations to one XML part of the workbook (chosen by ``member_pick``)."""
    src = zipfile.ZipFile(io.BytesIO(xlsx))
    names = [i.filename for i in src.infolist() if i.filename.endswith((".xml", ".rels"))]
    sheets = [
        n for n in names if "worksheets/" in n or n.endswith(("sharedStrings.xml", "workbook.xml"))
    ]
    # mostly (4 in 5) the parts that hold the tables, else any part
    pool, pick = (
        (sheets, member_pick / 0.8) if member_pick < 0.8 else (names, (member_pick - 0.8) / 0.2)
    )
    member = pool[min(int(pick * len(pool)), len(pool) - 1)]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == member:
                for m in mutations:
                    data = m(data)
            dst.writestr(info, data)
    return out.getvalue()


@FUZZ
@given(
    base=st.sampled_from(["sample", "openpyxl"]),
    member=st.floats(0, 1, exclude_max=True),
    xml=st.lists(xml_mutation(), min_size=1, max_size=3),
    raw=st.lists(byte_mutation(), max_size=1),
)
def test_mutated_xlsx_never_raises(bench: Workbench, base: str, member: float, xml, raw) -> None:
    xlsx = bench.files[REPORT] if base == "sample" else bench.openpyxl_report
    data = mutate_xlsx(xlsx, member, [apply for _label, apply in xml])
    for _label, apply in raw:  # now and then the zip container itself is damaged too
        data = apply(data)
    target = bench.path / REPORT
    original = target.read_bytes()
    target.write_bytes(data)
    try:
        opened = open_package(bench.path, bench.work, PROFILE.limits)
        tables, form, findings = read_report(opened)
    finally:
        target.write_bytes(original)
    assert form in (None, "xlsx")
    assert_findings(findings)
    assert all(hasattr(df, "columns") for df in tables.values())
    bench.check(REPORT, data)
