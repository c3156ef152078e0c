"""Hostile packages of issue 14, round two: each family checked in a real process under a
2 GB address-space limit (``RLIMIT_AS``), its codes, exit code, time and memory asserted
(tests/corpus/test_hostile.py).

Families: cell references the workbook guard once missed (quotes, blanks before ``r``,
lower case, leading zeros, rows out of order, prefixed cells, parts named in another
case); labels over the length limit and floor labels of blanks; manifests with duplicate
keys, a bad ``created``, project ids that cannot name a folder, a Chinese id that can, and
500 000 absent files; folders holding names that cannot be stored or published, hard
links and a 4 000-character path. Every byte is made on demand.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

from tests.corpus.builders import (
    FLOOR,
    MANIFEST,
    REPORT,
    Case,
    Files,
    bad,
    clean,
    edit_dxf,
    expect,
    on_layer,
    project_row,
    report_bytes,
    tables_of,
    with_manifest,
    write_dir,
)

#: every builder of this module (run in a real process under RLIMIT_AS, not in-process)
HOSTILE: set[str] = set()
AS_LIMIT = 2_000_000_000  # the profile's budget_memory_bytes


def hostile(name: str) -> Callable[[Callable[[Path], Case]], Callable[[Path], Case]]:
    HOSTILE.add(name)
    return bad(name)


# =========================================================================== workbook refs


def _rewrite_part(xlsx: bytes, edit: Callable[[str, bytes], bytes]) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(xlsx))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, edit(info.filename, src.read(info)))
    return buf.getvalue()


def _setback_sheet(model) -> str:
    return f"xl/worksheets/sheet{list(tables_of(model)).index('退让') + 1}.xml"


def _far_cell(out: Path, cell: bytes, *, at_start: bool = False, rels: Callable[[bytes], bytes] | None = None) -> Case:
    """The 退让 sheet with one more cell whose reference puts it at the far corner: calamine
    would allocate the whole rectangle (17 billion cells). PKG-008 for that sheet."""
    model, files = clean()
    part = _setback_sheet(model)

    def edit(name: str, data: bytes) -> bytes:
        if name == part:
            if at_start:
                return data.replace(b"<sheetData>", b"<sheetData>" + cell, 1)
            return data.replace(b"</sheetData>", cell + b"</sheetData>", 1)
        if rels is not None and name == "xl/_rels/workbook.xml.rels":
            return rels(data)
        return data

    files[REPORT] = _rewrite_part(files[REPORT], edit)
    assert len(files[REPORT]) < 100_000  # a small workbook
    return expect(
        write_dir(out, model, files),
        places=[("PKG-008", {"file": REPORT, "sheet": "退让"})],
        knock_on={"RPT-001"},
        seconds=60,
    )


def _corner(ref_attr: bytes) -> bytes:
    return b'<row r="1048576"><c ' + ref_attr + b' t="inlineStr"><is><t>x</t></is></c></row>'


@hostile("xlsx-ref-single-quotes")
def xlsx_ref_single_quotes(out: Path) -> Case:
    """``r='XFD1048576'``: a reference in single quotes, valid XML."""
    return _far_cell(out, _corner(b"r='XFD1048576'"))


@hostile("xlsx-ref-tab-before-r")
def xlsx_ref_tab_before_r(out: Path) -> Case:
    """A tab before ``r``: ``<c\\tr="XFD1048576">``."""
    return _far_cell(out, b'<row r="1048576"><c\tr="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>')


@hostile("xlsx-ref-newline-before-r")
def xlsx_ref_newline_before_r(out: Path) -> Case:
    """A line break before ``r``: ``<c\\nr="XFD1048576">``."""
    return _far_cell(out, b'<row r="1048576"><c\nr="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>')


@hostile("xlsx-ref-lower-case")
def xlsx_ref_lower_case(out: Path) -> Case:
    """A lower-case column: ``r="xfd1048576"`` (calamine reads either case)."""
    return _far_cell(out, _corner(b'r="xfd1048576"'))


@hostile("xlsx-ref-leading-zeros")
def xlsx_ref_leading_zeros(out: Path) -> Case:
    """Leading zeros in the row: ``r="XFD001048576"``."""
    return _far_cell(out, _corner(b'r="XFD001048576"'))


@hostile("xlsx-ref-blanks-around-equals")
def xlsx_ref_blanks_around_equals(out: Path) -> Case:
    """Blanks around ``=``: ``r = "XFD1048576"``."""
    return _far_cell(out, _corner(b'r = "XFD1048576"'))


@hostile("xlsx-ref-char-reference")
def xlsx_ref_char_reference(out: Path) -> Case:
    """The ``r`` of the row written with character references (``&#49;…``) and the cell
    placed by position in column XFD: refused as a doubtful reference or as too big."""
    cells = b"".join(b"<c/>" for _ in range(3)) + b'<c r="XFD1048576"><v>1</v></c>'
    return _far_cell(out, b'<row r="&#49;048576">' + cells + b"</row>")


@hostile("xlsx-rows-out-of-order")
def xlsx_rows_out_of_order(out: Path) -> Case:
    """A cell of row 1 048 576 before the sheet's own rows: calamine takes the first and
    the last cell for the rows of its rectangle and wraps round (2^32 rows, an abort)."""
    return _far_cell(out, _corner(b'r="A1048576"'), at_start=True)


@hostile("xlsx-prefixed-cell")
def xlsx_prefixed_cell(out: Path) -> Case:
    """The corner cell written ``<x:c>`` with its own namespace prefix (calamine matches the
    local name)."""
    return _far_cell(
        out,
        b'<x:row xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" r="1048576">'
        b'<x:c r="XFD1048576" t="inlineStr"><x:is><x:t>x</x:t></x:is></x:c></x:row>',
    )


@hostile("xlsx-unplaced-far-column")
def xlsx_unplaced_far_column(out: Path) -> Case:
    """20 000 cells without ``r`` in one row 1 048 576: placed by position, past column XFD."""
    return _far_cell(out, b'<row r="1048576">' + b"<c><v>1</v></c>" * 20_000 + b"</row>")


@hostile("xlsx-part-name-case")
def xlsx_part_name_case(out: Path) -> Case:
    """The relationship names the sheet's part in upper case (``/XL/WORKSHEETS/…``):
    calamine finds zip members without regard to case, so the guard must too."""

    def upper(data: bytes) -> bytes:
        return data.replace(b"/xl/worksheets/", b"/XL/WORKSHEETS/")

    return _far_cell(out, _corner(b'r="XFD1048576"'), rels=upper)


@hostile("xlsx-row-ref-huge")
def xlsx_row_ref_huge(out: Path) -> Case:
    """A row ``r`` of 12 digits (beyond u32, would wrap in calamine)."""
    return _far_cell(out, b'<row r="999999999999"><c><v>1</v></c></row>')


# =========================================================================== labels


def _floor_label(files: Files, text: str) -> None:
    def edit(doc) -> None:
        labels = [e for e in on_layer(doc, "FC_C", "TEXT")] or [e for e in on_layer(doc, "FC_C", "MTEXT")]
        labels[0].dxf.text = text

    edit_dxf(files, FLOOR, edit)


@hostile("label-too-long")
def label_too_long(out: Path) -> Case:
    """A floor label (FC_C) of 200 000 characters: DXF-005 (over the label length limit),
    the label refused; the floor it named has no label (knock-on)."""
    model, files = clean()
    _floor_label(files, "1层" + "楼" * 200_000)
    return expect(write_dir(out, model, files), codes={"DXF-005"}, knock_on=_FLOOR_KNOCK_ON, seconds=60)


@hostile("floor-label-30000-tabs")
def floor_label_30000_tabs(out: Path) -> Case:
    """A floor label ``1`` + 30 000 tabs + ``层`` (took 13 s in a backtracking pattern):
    over the label length limit, DXF-005 at once."""
    model, files = clean()
    _floor_label(files, "1" + "\t" * 30_000 + "层")
    return expect(write_dir(out, model, files), codes={"DXF-005"}, knock_on=_FLOOR_KNOCK_ON, seconds=60)


@hostile("floor-label-900-blanks")
def floor_label_900_blanks(out: Path) -> Case:
    """A floor label ``1`` + 900 blanks + ``层``, within the length limit: read as floor 1
    in linear time, a valid package."""
    model, files = clean()
    _floor_label(files, "1" + " \t" * 450 + "层")
    return expect(write_dir(out, model, files), seconds=60)


# what a floor plan without its floor label may give besides
_FLOOR_KNOCK_ON = frozenset({"DXF-006", "PRP-006", "PRP-007", "PRP-010", "PRP-011", "PRP-012", "PRP-013", "XSV-006"})


# =========================================================================== manifest


def _manifest(model, files: Files, edit: Callable[[dict], dict | str]) -> Files:
    files = with_manifest(model, files)
    data = edit(json.loads(files[MANIFEST]))
    files[MANIFEST] = (data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)).encode()
    return files


@hostile("manifest-duplicate-keys")
def manifest_duplicate_keys(out: Path) -> Case:
    """``project_id`` given twice in manifest.json (last wins in JSON readers): PKG-002."""
    model, files = clean()

    def edit(m: dict) -> str:
        text = json.dumps(m, ensure_ascii=False)
        return text.replace('{"', '{"project_id": "ANOTHER-ID", "', 1)

    files = _manifest(model, files, edit)
    return expect(
        write_dir(out, model, files, manifest=False), places=[("PKG-002", {"file": MANIFEST, "key": "project_id"})]
    )


@hostile("manifest-created-not-a-date")
def manifest_created_not_a_date(out: Path) -> Case:
    """``created`` = "yesterday": PKG-002 naming the field."""
    model, files = clean()
    files = _manifest(model, files, lambda m: {**m, "created": "yesterday"})
    return expect(
        write_dir(out, model, files, manifest=False), places=[("PKG-002", {"file": MANIFEST, "key": "created"})]
    )


@hostile("manifest-created-no-offset")
def manifest_created_no_offset(out: Path) -> Case:
    """``created`` without its time zone offset (``2022-05-06T10:00:00``): PKG-002."""
    model, files = clean()
    files = _manifest(model, files, lambda m: {**m, "created": "2022-05-06T10:00:00"})
    return expect(
        write_dir(out, model, files, manifest=False), places=[("PKG-002", {"file": MANIFEST, "key": "created"})]
    )


def _bad_id(out: Path, project_id: str) -> Case:
    model, files = clean()
    files = _manifest(model, files, lambda m: {**m, "project_id": project_id})
    return expect(
        write_dir(out, model, files, manifest=False),
        places=[("PKG-002", {"file": MANIFEST, "key": "project_id"})],
        knock_on={"PKG-010"},
    )


@hostile("project-id-rtl-override")
def project_id_rtl_override(out: Path) -> Case:
    """A project id holding U+202E (right-to-left override): PKG-002."""
    return _bad_id(out, "LC-KFQ\u202e7310-2202")


@hostile("project-id-c1-control")
def project_id_c1_control(out: Path) -> Case:
    """A project id holding U+0085 (a C1 control, NEXT LINE): PKG-002."""
    return _bad_id(out, "LC-KFQ\u00852022-0137")


@hostile("project-id-c0-control")
def project_id_c0_control(out: Path) -> Case:
    """A project id holding a tab: PKG-002."""
    return _bad_id(out, "LC-KFQ\t2022-0137")


@hostile("project-id-windows-reserved")
def project_id_windows_reserved(out: Path) -> Case:
    """Project id ``CON`` (a Windows device name): PKG-002."""
    return _bad_id(out, "CON")


@hostile("project-id-reserved-with-suffix")
def project_id_reserved_with_suffix(out: Path) -> Case:
    """Project id ``nul.2022`` (a device name before the first dot): PKG-002."""
    return _bad_id(out, "nul.2022")


@hostile("project-id-backslash")
def project_id_backslash(out: Path) -> Case:
    """Project id ``LC\\KFQ``: PKG-002."""
    return _bad_id(out, "LC\\KFQ-2022-0137")


@hostile("project-id-chinese")
def project_id_chinese(out: Path) -> Case:
    """A Chinese project id, the same in manifest.json and 项目信息 XMBH: allowed and kept,
    a valid package."""
    model, files = clean()
    model.project_id = "聊城开发区二〇二二〇一三七号"
    tables = tables_of(model)
    tables["项目信息"].rows[project_row("XMBH") - 2][1] = model.project_id
    files[REPORT] = report_bytes(model, tables)
    return expect(write_dir(out, model, files), seconds=60)


ABSENT_FILES = 500_000


@hostile("manifest-500k-absent-files")
def manifest_500k_absent_files(out: Path) -> Case:
    """manifest.json of about 55 MB listing 500 000 files that are not in the package:
    200 PKG-003 listed and one PKG-011 for the 499 800 others, in bounded time and memory,
    findings.json small."""
    model, files = clean()

    def edit(m: dict) -> dict:
        sha = "0" * 64
        extra = [{"path": f"attachments/{i:07d}.pdf", "sha256": sha} for i in range(ABSENT_FILES)]
        return {**m, "files": m["files"] + extra}

    files = _manifest(model, files, edit)
    assert len(files[MANIFEST]) > 50 << 20
    return expect(
        write_dir(out, model, files, manifest=False),
        places=[("PKG-003", {}), ("PKG-011", {"key": "PKG-003"})],
        seconds=120,
        max_rss=1_500_000_000,
    )


# =========================================================================== folders


def _dir_with(out: Path, name: str, data: bytes = b"note\n") -> tuple[Path, str]:
    """S as a folder with one more file ``attachments/<name>``, listed in the manifest."""
    model, files = clean()
    root = write_dir(out, model, files)
    target = root / "attachments"
    target.mkdir(exist_ok=True)
    (target / name).write_bytes(data)
    return root, f"attachments/{name}"


def _refused_name(out: Path, name: str) -> Case:
    root, _rel = _dir_with(out, name)
    return expect(root, codes={"PKG-006"})


@hostile("dir-backslash-name")
def dir_backslash_name(out: Path) -> Case:
    """A file named ``a\\b.txt`` (a separator on Windows, not storable as given): PKG-006."""
    return _refused_name(out, "a\\b.txt")


@hostile("dir-newline-name")
def dir_newline_name(out: Path) -> Case:
    """A file name with a line break: PKG-006."""
    return _refused_name(out, "a\nb.txt")


@hostile("dir-carriage-return-name")
def dir_carriage_return_name(out: Path) -> Case:
    """A file name with a carriage return: PKG-006."""
    return _refused_name(out, "a\rb.txt")


@hostile("dir-rtl-override-name")
def dir_rtl_override_name(out: Path) -> Case:
    """A file name with U+202E (``evil\\u202etxt.exe`` reads as ``evilexe.txt``): PKG-006."""
    return _refused_name(out, "evil\u202etxt.exe")


@hostile("dir-colon-name")
def dir_colon_name(out: Path) -> Case:
    """A file name with ``:`` (an alternate data stream on Windows): PKG-006."""
    return _refused_name(out, "a:b.txt")


@hostile("dir-hard-link")
def dir_hard_link(out: Path) -> Case:
    """A hard link in the folder to a file outside it (``/etc/passwd`` in the wild; here a
    file beside the package): PKG-006, never read or stored."""
    model, files = clean()
    root = write_dir(out, model, files)
    secret = out / "outside-secret.txt"
    secret.write_bytes(b"secret\n")
    os.link(secret, root / "attachments-link.txt")
    return expect(root, places=[("PKG-006", {"file": "attachments-link.txt"})])


@hostile("dir-long-path")
def dir_long_path(out: Path) -> Case:
    """A file 4 000 characters deep (folders of 200 characters): PKG-006 at check, not
    ENAMETOOLONG at submit."""
    model, files = clean()
    root = write_dir(out, model, files)
    folder = root / "attachments"
    for i in range(19):
        folder = folder / (f"{i:02d}" + "d" * 198)
    folder.mkdir(parents=True)
    (folder / "note.txt").write_bytes(b"deep\n")
    return expect(root, codes={"PKG-006"})


@hostile("zip-newline-name")
def zip_newline_name(out: Path) -> Case:
    """A zip entry whose name holds a line break: PKG-006."""
    from tests.corpus.builders import write_zip

    model, files = clean()
    path = write_zip(out, model, files, extra=[(f"{model.project_id}/attachments/a\nb.txt", b"x")])
    return expect(path, codes={"PKG-006"})


@hostile("zip-long-name")
def zip_long_name(out: Path) -> Case:
    """A zip entry whose file name is 300 bytes (over NAME_MAX): PKG-006."""
    from tests.corpus.builders import write_zip

    model, files = clean()
    path = write_zip(out, model, files, extra=[(f"{model.project_id}/attachments/{'n' * 300}.txt", b"x")])
    return expect(path, codes={"PKG-006"})


@hostile("many-unlisted-files")
def many_unlisted_files(out: Path) -> Case:
    """1 000 small files not in the manifest: 200 PKG-005 listed, one PKG-011 for the rest
    (a warning only: accepted)."""
    model, files = clean()
    root = write_dir(out, model, files)
    extra = root / "attachments" / "many"
    extra.mkdir(parents=True)
    for i in range(1000):
        (extra / f"{i:04d}.txt").write_bytes(b"x")
    return expect(root, places=[("PKG-005", {}), ("PKG-011", {"key": "PKG-005"})], exit=0)


# =========================================================================== at the limits


def _unit_sheet_of(out: Path, cells_total: int) -> Path:
    """S with its 户 sheet replaced by ``cells_total // columns`` rows (header included) of
    the 户 columns, every cell a different text that no rule accepts (the worst case for
    memory: a finding or more per cell before the per-code cap)."""
    from openpyxl.utils import get_column_letter

    from tests.corpus.builders import _deflated_info, _rows_xml

    model, files = clean()
    tables = tables_of(model)
    headers = tables["户"].headers
    ncol = len(headers)

    def cells(r: int) -> str:
        if r == 1:
            texts = list(headers)
        else:
            texts = [f"户{r:07d}列{i:02d}值" for i in range(ncol)]
        return "".join(
            f'<c r="{get_column_letter(i + 1)}{r}" t="inlineStr"><is><t>{t}</t></is></c>'
            for i, t in enumerate(texts)
        )

    part = f"xl/worksheets/sheet{list(tables).index('户') + 1}.xml"
    src = zipfile.ZipFile(io.BytesIO(files[REPORT]))
    assert part in src.namelist()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename == part:
                with dst.open(_deflated_info(part), "w", force_zip64=True) as fh:
                    for chunk in _rows_xml(cells_total // ncol, cells):
                        fh.write(chunk)
            else:
                dst.writestr(info, src.read(info))
    files[REPORT] = buf.getvalue()
    return write_dir(out, model, files)


def _max_sheet_cells() -> int:
    from schemas.profile import load_profile

    return load_profile().limits.max_sheet_cells


#: what 户 rows of nonsense give (each capped at max_findings_per_code, then PKG-011)
_NONSENSE_UNITS = frozenset({"RPT-003", "RPT-005", "RPT-009", "CAD-002", "PRP-007", "PKG-011"})


@hostile("xlsx-sheet-at-cell-limit")
def xlsx_sheet_at_cell_limit(out: Path) -> Case:
    """The 户 sheet just under the profile's max_sheet_cells (one row short), every cell a
    different wrong text: read and checked within the memory budget (RLIMIT_AS), the
    findings capped per code. Measured: 2 M cells peak at 1.6 GB; 4 M cells ran out of
    2 GB in the typing of the sheet (a finding per cell before the cap), hence the limit."""
    root = _unit_sheet_of(out, _max_sheet_cells() - 11)
    return expect(
        root,
        places=[("RPT-003", {"sheet": "户"}), ("PKG-011", {})],
        knock_on=_NONSENSE_UNITS,
        seconds=400,
    )


@hostile("xlsx-sheet-over-cell-limit")
def xlsx_sheet_over_cell_limit(out: Path) -> Case:
    """The 户 sheet one row over the profile's max_sheet_cells: PKG-008 for the sheet,
    never handed to calamine, the scan stopping at the limit."""
    root = _unit_sheet_of(out, _max_sheet_cells() + 11)
    return expect(
        root,
        places=[("PKG-008", {"file": REPORT, "sheet": "户"})],
        knock_on={"RPT-001", "PRP-007", "PRP-010", "PRP-011", "PRP-012", "PRP-013", "XSV-006"},
        seconds=120,
    )


@hostile("xlsx-bomb-in-extra-sheet")
def xlsx_bomb_in_extra_sheet(out: Path) -> Case:
    """An extra sheet 「原始记录」 with cells at A1 and XFD1048576 (17 billion cells to
    calamine): not a sheet the reader reads, so neither scanned nor handed to calamine
    (which reads a sheet only when asked for it by name). A valid package, quickly, in
    little memory: a read of it would abort."""
    from tests.corpus.builders import _add_sheet_xml

    model, files = clean()
    sheet = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        b'<row r="1"><c r="A1"><v>1</v></c></row>'
        b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData></worksheet>'
    )
    files[REPORT] = _add_sheet_xml(files[REPORT], "原始记录", [sheet])
    return expect(write_dir(out, model, files), seconds=60, max_rss=400 << 20)


# =========================================================================== drawing limits


def _dxf_limits():
    from schemas.profile import load_profile

    limits = load_profile().limits
    return limits.max_entities, limits.max_vertices


def _entities_dxf(body: bytes) -> bytes:
    """A DXF of an ENTITIES section only (no handles: the fast path refuses it, so the
    ezdxf reader's count before ezdxf is what stops it)."""
    return b"0\nSECTION\n2\nENTITIES\n" + body + b"0\nENDSEC\n0\nEOF\n"


@hostile("dxf-lines-over-entity-limit")
def dxf_lines_over_entity_limit(out: Path) -> Case:
    """The floor plan replaced by max_entities + 1 tiny LINEs (≈ 40 MB, within the byte
    limits): DXF-001 at the drawing naming the limit, read no further (ezdxf would build
    every entity first), the checks of that drawing skipped."""
    model, files = clean()
    max_entities, _ = _dxf_limits()
    line = b"0\nLINE\n8\nL\n10\n0\n20\n0\n11\n1\n21\n1\n"
    files[FLOOR] = _entities_dxf(line * (max_entities + 1))
    return expect(
        write_dir(out, model, files),
        places=[("DXF-001", {"file": FLOOR})],
        knock_on=_UNREAD_FLOOR,
        seconds=60,
    )


@hostile("dxf-polyline-over-vertex-limit")
def dxf_polyline_over_vertex_limit(out: Path) -> Case:
    """The floor plan replaced by one LWPOLYLINE of max_vertices + 1 vertices (≈ 60 MB):
    DXF-001 at the drawing naming the vertex limit, never handed to ezdxf."""
    model, files = clean()
    _, max_vertices = _dxf_limits()
    count = max_vertices + 1
    head = b"0\nLWPOLYLINE\n8\nL\n90\n%d\n70\n1\n" % count
    files[FLOOR] = _entities_dxf(head + b"10\n0.5\n20\n0.5\n" * count)
    return expect(
        write_dir(out, model, files),
        places=[("DXF-001", {"file": FLOOR})],
        knock_on=_UNREAD_FLOOR,
        seconds=60,
    )


# what a floor plan that is not read may give besides (its floors and rooms are unknown)
_UNREAD_FLOOR = _FLOOR_KNOCK_ON | {"DXF-003"}
