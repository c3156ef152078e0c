"""manifest.json, checksums, required parts and unsupported drawings."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from parsers.archive import Opened, open_package
from parsers.manifest import missing_floor_plans, missing_parts, read_manifest
from schemas.findings import Finding
from schemas.package import Package
from schemas.profile import Limits

DXF = b"  0\nSECTION\n  2\nENTITIES\n  0\nENDSEC\n  0\nEOF\n"
COMPLETE = {
    "report.xlsx": b"PK fake workbook",
    "drawings/site.dxf": DXF,
    "drawings/parcel.dxf": DXF,
    "drawings/floors/0001.dxf": DXF,
    "attachments/scan.pdf": b"%PDF-1.4 scan",
}


def manifest_for(listed: dict[str, bytes], **override: object) -> dict:
    doc = {
        "spec_version": "1",
        "project_id": "LC-KFQ-2022-0137",
        "survey_org": "聊城市某测绘有限公司",
        "created": "2022-05-06T10:00:00+08:00",
        "files": [{"path": p, "sha256": hashlib.sha256(d).hexdigest()} for p, d in listed.items()],
    }
    doc.update(override)
    return doc


def package(
    tmp_path: Path,
    files: dict[str, bytes],
    manifest: dict | bytes | None = None,
) -> Opened:
    root = tmp_path / "pkg"
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    root.mkdir(parents=True, exist_ok=True)
    if manifest is not None:
        raw = (
            manifest
            if isinstance(manifest, bytes)
            else json.dumps(manifest, ensure_ascii=False).encode()
        )
        (root / "manifest.json").write_bytes(raw)
    return open_package(root, tmp_path / "work", Limits())


def found(findings: list[Finding]) -> list[tuple[str, str | None]]:
    return sorted((f.code, f.object.file) for f in findings)


def test_valid_manifest(tmp_path: Path) -> None:
    opened = package(tmp_path, COMPLETE, manifest_for(COMPLETE))
    manifest, findings = read_manifest(opened)
    assert findings == []
    assert manifest is not None and manifest["project_id"] == "LC-KFQ-2022-0137"
    assert missing_parts(opened) == []
    assert missing_floor_plans(opened, ["0001"]) == []


def test_manifest_missing(tmp_path: Path) -> None:
    manifest, findings = read_manifest(package(tmp_path, COMPLETE))
    assert manifest is None
    assert found(findings) == [("PKG-002", "manifest.json")]


def test_manifest_not_json(tmp_path: Path) -> None:
    manifest, findings = read_manifest(package(tmp_path, COMPLETE, b'{"spec_version": "1",'))
    assert manifest is None
    assert found(findings) == [("PKG-002", "manifest.json")]


def test_manifest_not_utf8_and_not_object(tmp_path: Path) -> None:
    _, findings = read_manifest(package(tmp_path, {}, '{"survey_org": "测绘"}'.encode("gbk")))
    assert [f.code for f in findings] == ["PKG-002"]
    _, findings = read_manifest(package(tmp_path / "b", {}, b"[1, 2]"))
    assert [f.code for f in findings] == ["PKG-002"]


def test_manifest_with_bom_is_read(tmp_path: Path) -> None:
    raw = b"\xef\xbb\xbf" + json.dumps(manifest_for(COMPLETE)).encode()
    manifest, findings = read_manifest(package(tmp_path, COMPLETE, raw))
    assert manifest is not None and findings == []


def test_manifest_bad_schema(tmp_path: Path) -> None:
    doc = manifest_for(COMPLETE, spec_version=1, survey_org=None)
    del doc["project_id"]
    doc["files"][0]["sha256"] = "not-a-hash"
    doc["files"].append("drawings/extra.dxf")
    manifest, findings = read_manifest(package(tmp_path, COMPLETE, doc))
    assert manifest is not None  # still returned: it is a JSON object
    assert {f.code for f in findings} == {"PKG-002"}
    assert sorted(f.object.key for f in findings) == sorted(
        ["spec_version", "project_id", "survey_org", "report.xlsx", "files[6]"]
    )


def test_files_not_a_list_skips_file_checks(tmp_path: Path) -> None:
    _, findings = read_manifest(package(tmp_path, COMPLETE, manifest_for(COMPLETE, files={})))
    assert [(f.code, f.object.key) for f in findings] == [("PKG-002", "files")]


def test_listed_file_missing(tmp_path: Path) -> None:
    present = {k: v for k, v in COMPLETE.items() if k != "drawings/parcel.dxf"}
    _, findings = read_manifest(package(tmp_path, present, manifest_for(COMPLETE)))
    assert found(findings) == [("PKG-003", "drawings/parcel.dxf")]


def test_checksum_mismatch(tmp_path: Path) -> None:
    changed = dict(COMPLETE, **{"drawings/site.dxf": DXF + b"999\nchanged\n"})
    _, findings = read_manifest(package(tmp_path, changed, manifest_for(COMPLETE)))
    assert found(findings) == [("PKG-004", "drawings/site.dxf")]
    f = findings[0]
    assert f.expected == hashlib.sha256(DXF).hexdigest()
    assert f.actual == hashlib.sha256(changed["drawings/site.dxf"]).hexdigest()


def test_unlisted_file_is_a_warning(tmp_path: Path) -> None:
    extra = dict(COMPLETE, **{"attachments/note.txt": b"note"})
    _, findings = read_manifest(package(tmp_path, extra, manifest_for(COMPLETE)))
    assert found(findings) == [("PKG-005", "attachments/note.txt")]
    assert findings[0].severity == "warning"


def test_listed_path_outside_the_package(tmp_path: Path) -> None:
    doc = manifest_for(COMPLETE)
    doc["files"] += [
        {"path": "../secret.txt", "sha256": "0" * 64},
        {"path": "/etc/passwd", "sha256": "0" * 64},
        {"path": "drawings\\site.dxf", "sha256": "0" * 64},
    ]
    _, findings = read_manifest(package(tmp_path, COMPLETE, doc))
    assert [f.code for f in findings] == ["PKG-002"] * 3
    assert [f.object.key for f in findings] == [
        "../secret.txt",
        "/etc/passwd",
        "drawings\\site.dxf",
    ]


def test_unsupported_drawings(tmp_path: Path) -> None:
    files = dict(COMPLETE)
    files["drawings/site.dxf"] = b"AC1032\x00\x00\x00binary dwg"
    files["drawings/floors/0002.dwg"] = b"AC1027..."
    files["drawings/parcel.pdf"] = b"%PDF-1.7"
    del files["drawings/parcel.dxf"]
    opened = package(tmp_path, files, manifest_for(files))
    _, findings = read_manifest(opened)
    assert found(findings) == [
        ("PKG-009", "drawings/floors/0002.dwg"),
        ("PKG-009", "drawings/parcel.pdf"),
        ("PKG-009", "drawings/site.dxf"),
    ]
    assert {f.object.file: f.message for f in findings}["drawings/site.dxf"].count("DWG") == 1
    # the attachments PDF is not a drawing; a DWG/PDF stand-in is PKG-009, never PKG-008 too
    assert missing_parts(opened) == []
    assert missing_floor_plans(opened, ["0001", "0002"]) == []


def test_missing_parts(tmp_path: Path) -> None:
    opened = package(tmp_path, {"attachments/a.pdf": b"%PDF"}, manifest_for({}))
    assert found(missing_parts(opened)) == [
        ("PKG-008", "drawings/parcel.dxf"),
        ("PKG-008", "drawings/site.dxf"),
        ("PKG-008", "report.xlsx"),
    ]


def test_both_report_forms_is_one_finding(tmp_path: Path) -> None:
    files = dict(COMPLETE, **{"report/户.csv": b"BDCDYH\n"})
    opened = package(tmp_path, files, manifest_for(files))
    assert found(missing_parts(opened)) == [("PKG-008", "report/")]


def test_csv_form_alone_is_enough(tmp_path: Path) -> None:
    files = {k: v for k, v in COMPLETE.items() if k != "report.xlsx"}
    files["report/户.csv"] = b"BDCDYH\n"
    opened = package(tmp_path, files, manifest_for(files))
    assert missing_parts(opened) == []


def test_missing_floor_plans(tmp_path: Path) -> None:
    opened = package(tmp_path, COMPLETE, manifest_for(COMPLETE))
    findings = missing_floor_plans(opened, ["0001", "0003", "0003", "12", "0002"])
    assert found(findings) == [
        ("PKG-008", "drawings/floors/0002.dxf"),
        ("PKG-008", "drawings/floors/0003.dxf"),
    ]


def test_nothing_more_when_package_could_not_be_opened(tmp_path: Path) -> None:
    opened = open_package(tmp_path / "missing.zip", tmp_path / "work", Limits())
    assert read_manifest(opened) == (None, [])
    assert missing_parts(opened) == []
    assert missing_floor_plans(opened, ["0001"]) == []


def test_skipped_files_are_not_reported_missing(tmp_path: Path) -> None:
    opened = package(tmp_path, {}, manifest_for(COMPLETE))
    opened.skipped |= set(COMPLETE)  # e.g. encrypted entries, already PKG-001
    _, findings = read_manifest(opened)
    assert findings == []
    assert missing_parts(opened) == []
    assert missing_floor_plans(opened, ["0001"]) == []


@pytest.mark.parametrize(
    "project_id", ["a/b", "..", ".hidden", " LC-1", "LC\\1", "LC:1", "\udcff", "x" * 201]
)
def test_a_project_id_that_cannot_name_a_folder_is_pkg002(tmp_path: Path, project_id: str) -> None:
    """The store files products under the project id: one that cannot name a folder is a
    schema problem of the manifest, said at once, and the package has no project id."""
    doc = manifest_for(COMPLETE, project_id=project_id)
    raw = json.dumps(doc, ensure_ascii=True).encode()  # a lone surrogate as \\udcff, as JSON allows
    manifest, findings = read_manifest(package(tmp_path, COMPLETE, raw))
    assert [(f.code, f.object.key) for f in findings] == [("PKG-002", "project_id")]
    assert "目录名" in findings[0].message
    assert Package(source="x", manifest=manifest).project_id is None


def test_the_envelope_is_read_once_and_says_what_the_parts_say(tmp_path: Path, monkeypatch) -> None:
    """read_envelope: the findings of read_manifest then missing_parts, each drawing
    sniffed once; the floor plans then looked up without opening a file."""
    import parsers.manifest as manifest_module

    files = dict(COMPLETE)
    files["drawings/site.dxf"] = b"AC1032\x00\x00\x00binary dwg"
    files["drawings/floors/0002.dwg"] = b"AC1027..."
    del files["drawings/parcel.dxf"]
    opened = package(tmp_path, files, manifest_for(files, spec_version="2"))
    expected = read_manifest(opened)[1] + missing_parts(opened)
    numbers = ["0001", "0002", "0003"]
    plans = missing_floor_plans(opened, numbers)
    sniffed: list[str] = []
    sniff = manifest_module._sniff
    monkeypatch.setattr(manifest_module, "_sniff", lambda o, p: sniffed.append(p) or sniff(o, p))
    envelope = manifest_module.read_envelope(opened)
    assert envelope.findings == expected
    assert sorted(sniffed) == ["drawings/floors/0001.dxf", "drawings/site.dxf"]
    assert envelope.unsupported == {"drawings/floors/0002.dwg": "DWG", "drawings/site.dxf": "DWG"}
    assert envelope.report_form == "xlsx"
    assert envelope.missing_floor_plans(numbers) == plans
    assert found(envelope.missing_floor_plans(numbers)) == [("PKG-008", "drawings/floors/0003.dxf")]
    assert len(sniffed) == 2
    assert found(envelope.findings) == [
        ("PKG-002", "manifest.json"),
        ("PKG-008", "drawings/parcel.dxf"),
        ("PKG-009", "drawings/floors/0002.dwg"),
        ("PKG-009", "drawings/site.dxf"),
    ]


# --------------------------------------------------------------------------- issue 14: keys, created, ids


def test_a_key_given_twice_is_pkg002_naming_it(tmp_path: Path) -> None:
    """JSON readers keep the last of two equal keys: silently another manifest. PKG-002."""
    text = json.dumps(manifest_for(COMPLETE), ensure_ascii=False)
    raw = text.replace('{"', '{"project_id": "ANOTHER-ID", "', 1).encode()
    _, findings = read_manifest(package(tmp_path, COMPLETE, raw))
    assert [(f.code, f.object.file, f.object.key) for f in findings] == [
        ("PKG-002", "manifest.json", "project_id")
    ]
    assert "重复" in findings[0].message


def test_a_key_given_twice_inside_a_file_entry_is_pkg002(tmp_path: Path) -> None:
    doc = manifest_for(COMPLETE)
    text = json.dumps(doc, ensure_ascii=False)
    raw = text.replace(
        '{"path": "report.xlsx"', '{"path": "other.xlsx", "path": "report.xlsx"', 1
    ).encode()
    _, findings = read_manifest(package(tmp_path, COMPLETE, raw))
    assert [(f.code, f.object.file, f.object.key) for f in findings] == [
        ("PKG-002", "manifest.json", "path")
    ]


@pytest.mark.parametrize(
    "created", ["yesterday", "2022-05-06T10:00:00", "2022-13-40T10:00:00+08:00", 20220506]
)
def test_a_bad_created_is_pkg002(tmp_path: Path, created: object) -> None:
    """``created`` must be ISO 8601 with its offset (or a date alone)."""
    _, findings = read_manifest(
        package(tmp_path, COMPLETE, manifest_for(COMPLETE, created=created))
    )
    assert [(f.code, f.object.file, f.object.key) for f in findings] == [
        ("PKG-002", "manifest.json", "created")
    ]


@pytest.mark.parametrize(
    "created", ["2022-05-06T10:00:00+08:00", "2022-05-06T02:00:00Z", "2022-05-06"]
)
def test_a_good_created_is_accepted(tmp_path: Path, created: str) -> None:
    _, findings = read_manifest(
        package(tmp_path, COMPLETE, manifest_for(COMPLETE, created=created))
    )
    assert findings == []


@pytest.mark.parametrize(
    "project_id",
    [
        "LC-KFQ\u202e7310-2202",  # bidi override (reads reversed)
        "LC-KFQ\u20662022",  # bidi isolate
        "\ufeffLC-KFQ-2022",  # byte order mark
        "LC-KFQ\t2022",  # C0
        "LC-KFQ\x012022",  # C0
        "LC-KFQ\x7f2022",  # DEL
        "LC-KFQ\x852022",  # C1 (NEXT LINE)
        "LC-KFQ\x9b2022",  # C1 (CSI)
        "CON",
        "con",
        "NUL",
        "COM1",
        "LPT9",
        "nul.2022",
        "LC/KFQ-2022",
        "LC\\KFQ-2022",
        "LC-KFQ-2022 ",
    ],
)
def test_each_unsafe_project_id_class_is_pkg002(tmp_path: Path, project_id: str) -> None:
    _, findings = read_manifest(
        package(tmp_path, COMPLETE, manifest_for(COMPLETE, project_id=project_id))
    )
    assert [(f.code, f.object.file, f.object.key) for f in findings] == [
        ("PKG-002", "manifest.json", "project_id")
    ]


@pytest.mark.parametrize(
    "project_id", ["聊城开发区二〇二二〇一三七号", "聊城-KFQ-2022-0137", "LC.KFQ_2022", "CONSOLE-1"]
)
def test_a_chinese_or_plain_project_id_is_kept(tmp_path: Path, project_id: str) -> None:
    manifest, findings = read_manifest(
        package(tmp_path, COMPLETE, manifest_for(COMPLETE, project_id=project_id))
    )
    assert findings == []
    assert Package(source="x", manifest=manifest).project_id == project_id
