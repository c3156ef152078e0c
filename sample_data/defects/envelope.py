"""Seeded envelope defects: PKG-001..010 (spec/rules.md, PKG).

Each seeder damages the package itself — the zip, manifest.json, the set of files — and
leaves every figure and drawing as the clean sample has it, so that only the envelope rule
fires. Zip-level damage is done on the written zip (stage ``written``, ``as_zip=True``);
manifest damage after the manifest was computed (stage ``final``); a missing or replaced
part before it (stage ``files``), so that the manifest agrees with what is there.
"""

from __future__ import annotations

import hashlib
import json
import stat
import zipfile
from pathlib import Path
from typing import Any

from sample_data.defects import defect
from sample_data.defects.report import project_row
from sample_data.model import ProjectModel
from sample_data.report_writers import pinned_zipinfo

MANIFEST = "manifest.json"
SITE = "drawings/site.dxf"
PARCEL = "drawings/parcel.dxf"
REPORT = "report.xlsx"
# The first bytes of an AutoCAD 2018 DWG (version string AC1032), then filler.
DWG_BYTES = b"AC1032\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 4

Files = dict[str, bytes]


def _manifest(files: Files) -> dict[str, Any]:
    return json.loads(files[MANIFEST].decode("utf-8"))


def _set_manifest(files: Files, manifest: dict[str, Any]) -> None:
    files[MANIFEST] = (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _append_to_zip(
    path: Path, model: ProjectModel, entries: list[tuple[zipfile.ZipInfo | str, bytes]]
) -> None:
    """Add entries to the written zip (names as given: a seeder chooses them to be unsafe)."""
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            info = (
                name if isinstance(name, zipfile.ZipInfo) else pinned_zipinfo(name, model.created)
            )
            zf.writestr(info, data)


# ---------------------------------------------------------------- PKG-001 cannot be opened


@defect("PKG-001", stage="written", as_zip=True)
def corrupt_zip(path: Path, model: ProjectModel) -> dict[str, Any]:
    """The zip cut in half (an interrupted upload): no central directory, nothing opens."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return {"file": None, "sheet": None}


@defect("PKG-001", variant="rar", stage="written", as_zip=True)
def rar_named_zip(path: Path, model: ProjectModel) -> dict[str, Any]:
    """A RAR archive handed in under the name ``.zip``: only zip is accepted."""
    path.write_bytes(b"Rar!\x1a\x07\x01\x00" + bytes(512))
    return {"file": None, "sheet": None}


# ---------------------------------------------------------------- PKG-002 manifest


@defect("PKG-002", stage="final")
def manifest_not_json(files: Files, model: ProjectModel) -> dict[str, Any]:
    """manifest.json cut off in the middle of its file list: not JSON."""
    text = files[MANIFEST]
    files[MANIFEST] = text[: len(text) // 2]
    return {"file": MANIFEST}


@defect("PKG-002", variant="missing", stage="final")
def manifest_missing(files: Files, model: ProjectModel) -> dict[str, Any]:
    """No manifest.json at all."""
    del files[MANIFEST]
    return {"file": MANIFEST}


@defect("PKG-002", variant="schema", stage="final")
def manifest_wrong_version(files: Files, model: ProjectModel) -> dict[str, Any]:
    """manifest.json of another contract version (``spec_version`` "2")."""
    manifest = _manifest(files)
    manifest["spec_version"] = "2"
    _set_manifest(files, manifest)
    return {"file": MANIFEST, "key": "spec_version"}


# ---------------------------------------------------------------- PKG-003..005 file list


@defect("PKG-003", stage="final")
def listed_file_missing(files: Files, model: ProjectModel) -> dict[str, Any]:
    """The manifest lists an attachment that was left out of the package."""
    path = "attachments/竣工验收照片.pdf"
    manifest = _manifest(files)
    manifest["files"].append(
        {"path": path, "sha256": hashlib.sha256(b"%PDF-1.7 photo").hexdigest()}
    )
    manifest["files"].sort(key=lambda e: e["path"])
    _set_manifest(files, manifest)
    return {"file": path}


@defect("PKG-004", stage="final")
def checksum_mismatch(files: Files, model: ProjectModel) -> dict[str, Any]:
    """parcel.dxf listed with the checksum of another file."""
    manifest = _manifest(files)
    entry = next(e for e in manifest["files"] if e["path"] == PARCEL)
    entry["sha256"] = hashlib.sha256(b"an earlier parcel.dxf").hexdigest()
    _set_manifest(files, manifest)
    return {"file": PARCEL}


@defect("PKG-004", variant="edited", stage="final")
def edited_after_manifest(files: Files, model: ProjectModel) -> dict[str, Any]:
    """site.dxf edited after the manifest was made (a DXF comment added at its top): the
    drawing still reads the same, only its checksum differs."""
    files[SITE] = b"999\nedited after the manifest\n" + files[SITE]
    return {"file": SITE}


@defect("PKG-005", stage="final")
def unlisted_file(files: Files, model: ProjectModel) -> dict[str, Any]:
    """A note added to the package after the manifest was made (a warning)."""
    path = "attachments/现场照片说明.txt"
    files[path] = "现场照片共 12 张，见纸质档案。\n".encode()
    return {"file": path}


@defect("PKG-011", stage="final")
def many_unlisted_files(files: Files, model: ProjectModel) -> dict[str, Any]:
    """More photos added after the manifest was made than the profile lists one by one
    (each a PKG-005 warning): the first ``max_findings_per_code`` are listed, one PKG-011
    says how many more."""
    for i in range(_limits().max_findings_per_code + 5):
        files[f"attachments/照片/{i + 1:04d}.txt"] = f"照片 {i + 1}\n".encode()
    return {"key": "PKG-005"}


# ---------------------------------------------------------------- PKG-006 unsafe entries


@defect("PKG-006", stage="written", as_zip=True)
def parent_path_entry(path: Path, model: ProjectModel) -> dict[str, Any]:
    """A zip entry ``../evil.txt`` that would be written beside the extraction folder."""
    _append_to_zip(path, model, [("../evil.txt", b"written outside the package\n")])
    return {"file": "../evil.txt"}


@defect("PKG-006", variant="absolute", stage="written", as_zip=True)
def absolute_path_entry(path: Path, model: ProjectModel) -> dict[str, Any]:
    """A zip entry with an absolute path."""
    name = "/tmp/duoce-evil.txt"
    _append_to_zip(path, model, [(name, b"written anywhere\n")])
    return {"file": name}


@defect("PKG-006", variant="link", stage="written", as_zip=True)
def symlink_entry(path: Path, model: ProjectModel) -> dict[str, Any]:
    """A symbolic link stored in the zip, pointing out of the package."""
    name = f"{model.project_id}/attachments/link"
    info = pinned_zipinfo(name, model.created)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    _append_to_zip(path, model, [(info, b"../../../../etc/passwd")])
    return {"file": name}


# ---------------------------------------------------------------- PKG-007 size limits


def _limits():
    from schemas.profile import load_profile

    return load_profile().limits


@defect("PKG-007", stage="files", as_zip=True)
def compression_bomb(files: Files, model: ProjectModel) -> dict[str, Any]:
    """An attachment of zeros that deflates far beyond the profile's compression ratio
    (a zip-bomb pattern; 4 MiB unpacked, a few KiB packed)."""
    files["attachments/空白扫描.bin"] = bytes(4 << 20)
    return {"file": None}


@defect("PKG-007", variant="entries", stage="written", as_zip=True)
def too_many_entries(path: Path, model: ProjectModel) -> dict[str, Any]:
    """More zip entries than the profile allows (empty files: the count alone is over)."""
    count = _limits().max_entries + 1
    _append_to_zip(
        path, model, [(f"{model.project_id}/attachments/x/{i:05d}.txt", b"") for i in range(count)]
    )
    return {"file": None}


# ---------------------------------------------------------------- PKG-008..010


@defect("PKG-008", stage="files")
def parcel_drawing_missing(files: Files, model: ProjectModel) -> dict[str, Any]:
    """No parcel.dxf (宗地图): the cadastral drawing was not handed in."""
    del files[PARCEL]
    return {"file": PARCEL}


@defect("PKG-008", variant="floor-plan", stage="files")
def floor_plan_missing(files: Files, model: ProjectModel) -> dict[str, Any]:
    """No floor plan for building 1 (drawings/floors/0001.dxf)."""
    path = f"drawings/floors/{model.buildings[0].plan_name}.dxf"
    del files[path]
    return {"file": path}


@defect("PKG-008", variant="report", stage="files")
def report_missing(files: Files, model: ProjectModel) -> dict[str, Any]:
    """No report at all (neither report.xlsx nor report/*.csv)."""
    for path in [p for p in files if p == REPORT or p.startswith("report/")]:
        del files[path]
    return {"file": REPORT}


@defect("PKG-009", stage="files")
def site_as_dwg(files: Files, model: ProjectModel) -> dict[str, Any]:
    """The site drawing handed in as DWG (drawings/site.dwg) instead of site.dxf."""
    del files[SITE]
    files["drawings/site.dwg"] = DWG_BYTES
    return {"file": "drawings/site.dwg"}


@defect("PKG-009", variant="renamed", stage="files")
def dwg_named_dxf(files: Files, model: ProjectModel) -> dict[str, Any]:
    """A DWG renamed to parcel.dxf: judged by its bytes, not its name."""
    files[PARCEL] = DWG_BYTES
    return {"file": PARCEL}


@defect("PKG-010")
def project_id_mismatch(model: ProjectModel) -> dict[str, Any]:
    """项目信息 XMBH names another project than manifest.json."""
    model.info.xmbh = model.project_id[:-1] + str((int(model.project_id[-1]) + 1) % 10)
    return {"sheet": "项目信息", "row": project_row("XMBH"), "field": "XMBH", "file": MANIFEST}


@defect("PKG-001", variant="entry", stage="written", as_zip=True)
def corrupt_entry(path: Path, model: ProjectModel) -> dict[str, Any]:
    """One damaged entry (site.dxf's packed bytes overwritten) in an otherwise sound zip:
    that file cannot be extracted, the rest of the package is still checked."""
    name = f"{model.project_id}/{SITE}"
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(name)
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    middle = start + info.compress_size // 2
    data[middle : middle + 64] = bytes(64)
    path.write_bytes(bytes(data))
    return {"file": SITE}


@defect("PKG-009", variant="pdf", stage="files")
def site_as_pdf(files: Files, model: ProjectModel) -> dict[str, Any]:
    """The site drawing handed in as a PDF print (drawings/site.pdf) instead of site.dxf."""
    del files[SITE]
    files["drawings/site.pdf"] = (
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
    )
    return {"file": "drawings/site.pdf"}


@defect("PKG-006", variant="directory-link", stage="written")
def symlink_in_directory(path: Path, model: ProjectModel) -> dict[str, Any]:
    """A package directory holding a symbolic link to a file outside it: never followed."""
    link = path / "attachments" / "passwd"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to("/etc/passwd")
    return {"file": "attachments/passwd"}
