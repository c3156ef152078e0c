"""Read the envelope of a package: manifest.json, its checksums and the required parts.

:func:`read_envelope` does it all in one pass over the opened package (what it lists is
taken once, each drawing's first bytes sniffed once): it reads and checks
``manifest.json`` against the files present (PKG-002 … PKG-005), names drawings in an
unsupported format (PKG-009) and the required parts that are absent (PKG-008); the
:class:`Envelope` it returns then names the floor plans missing for the buildings the
report lists (:meth:`Envelope.missing_floor_plans`, no file opened). :func:`read_manifest`,
:func:`missing_parts` and :func:`missing_floor_plans` give one part of it each. None of
them raises for bad input.

When the package could not be opened at all (``opened.root`` is None, PKG-001 already
said so) these functions report nothing more: a rule does not repeat another's finding.
For the same reason a file that is present but was not made available (``opened.skipped``:
encrypted, a link, beyond a size limit) is never reported as missing.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

from parsers.archive import MANIFEST, Opened, sha256_file
from schemas.catalogue import make
from schemas.file_names import project_id_ok
from schemas.findings import Finding, Place

SPEC_VERSION = "1"
MAX_MANIFEST_BYTES = 64 << 20  # a manifest of 20 000 files is about 2 MB
REPORT_XLSX = "report.xlsx"
REPORT_DIR = "report/"
SITE = "drawings/site.dxf"
PARCEL = "drawings/parcel.dxf"
FLOORS_DIR = "drawings/floors/"
DRAWINGS_DIR = "drawings/"

_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_DRIVE = re.compile(r"^[A-Za-z]:")
_BUILDING_NUMBER = re.compile(r"^\d{4}$")
_DWG_MAGIC = re.compile(rb"^AC[12]\.?\d")
_UNSUPPORTED_SUFFIXES = {".dwg": "DWG", ".pdf": "PDF"}

# Reasons and part names: template parameters of PKG-002 / PKG-008.
_R = {
    "missing": "缺失",
    "too_large": "过大（超过 {limit} 字节）",
    "unreadable": "无法读取（{error}）",
    "not_utf8": "不是 UTF-8 编码",
    "not_json": "不是有效的 JSON（第 {line} 行第 {col} 列：{error}）",
    "not_object": "的内容应为 JSON 对象",
    "no_key": "缺少字段 {key}",
    "not_str": "字段 {key} 应为非空字符串",
    "bad_id": '字段 project_id 不能用作目录名（不得含 / \\ : * ? " < > |、控制字符或双向文字控制符，不得是 CON、NUL 等 Windows 保留名，首尾不得有空白，不得以 . 开头，不超过 200 字节）',
    "version": '字段 spec_version 应为 "1"，实为 {value}',
    "files_not_list": "字段 files 应为列表",
    "entry_not_object": "files 第 {n} 项应为含 path 与 sha256 的对象",
    "entry_path": "files 第 {n} 项缺少 path 或 path 不是字符串",
    "entry_sha": "files 第 {n} 项（{path}）的 sha256 不是 64 位十六进制",
    "path_outside": "列出的路径 {path} 在成果包之外",
    "path_backslash": "列出的路径 {path} 应以 / 分隔",
    "path_malformed": "列出的路径 {path} 格式不规范",
    "path_duplicate": "重复列出路径 {path}",
    "key_duplicate": "字段 {key} 重复出现（JSON 对象的键不得重复）",
    "created": "字段 created 应为带时区的 ISO 8601 日期时间（如 2022-05-06T10:00:00+08:00），实为 {value}",
}
_PART = {
    "report": "报表 report.xlsx（或 report/<工作表名>.csv）",
    "report_both": "唯一的报表形式（report.xlsx 与 report/*.csv 同时存在，已使用 report.xlsx）",
    SITE: "drawings/site.dxf（竣工规划核实总平面图）",
    PARCEL: "drawings/parcel.dxf（宗地图）",
    "floor": "{path}（第 {number} 幢分层分户图）",
}


@dataclass
class Envelope:
    """The envelope of an opened package, read once (:func:`read_envelope`).

    Attributes
    ----------
    usable
        False when the package could not be opened (nothing more is reported).
    present
        The package-relative paths present: made available (``opened.files``) or not
        (``opened.skipped``).
    unsupported
        Drawings in ``drawings/`` that are DWG or PDF, path -> ``"DWG"`` / ``"PDF"``
        (:func:`unsupported_drawings`); later stages skip them.
    replaced
        The stems (path without suffix) of those drawings: a DWG/PDF stand-in is PKG-009,
        never PKG-008 too.
    report_form
        ``"xlsx"``, ``"csv"``, ``"both"`` or None (:func:`report_form`).
    manifest
        The manifest as parsed (see :func:`read_manifest`), or None.
    findings
        PKG-002 … PKG-005 and PKG-009 (:func:`read_manifest`), then PKG-008 of the report,
        site and parcel drawings (:func:`missing_parts`).
    """

    usable: bool = False
    present: frozenset[str] = frozenset()
    unsupported: dict[str, str] = field(default_factory=dict)
    replaced: frozenset[str] = frozenset()
    report_form: str | None = None
    manifest: dict | None = None
    findings: list[Finding] = field(default_factory=list)

    def missing_floor_plans(self, building_numbers: list[str]) -> list[Finding]:
        """PKG-008 for each 4-digit 幢号 without ``drawings/floors/<幢号>.dxf``.

        Numbers that are not 4 digits are left to the code rules (CAD-002); a plan present
        only as DWG or PDF is PKG-009, not PKG-008.
        """
        if not self.usable:
            return []
        findings: list[Finding] = []
        numbers = sorted({str(n).strip() for n in building_numbers if n is not None})
        for number in numbers:
            if not _BUILDING_NUMBER.match(number):
                continue
            path = f"{FLOORS_DIR}{number}.dxf"
            if path in self.present or _stem(path) in self.replaced:
                continue
            findings.append(
                make("PKG-008", Place(file=path), part=_PART["floor"].format(path=path, number=number))
            )
        return findings


def read_envelope(opened: Opened) -> Envelope:
    """Read the envelope of an opened package, once: the manifest checked against the
    files present, the drawings in an unsupported format and the required parts absent.

    Parameters
    ----------
    opened
        The opened package.

    Returns
    -------
    Envelope
        With its findings in the order :func:`read_manifest`, :func:`missing_parts`.
    """
    if opened.root is None:
        return Envelope()
    envelope = _listing(opened)
    envelope.manifest, envelope.findings = _check_manifest(opened, envelope)
    envelope.findings += _missing_parts(envelope)
    return envelope


def read_manifest(opened: Opened) -> tuple[dict | None, list[Finding]]:
    """Read ``manifest.json`` and check it against the files present.

    Parameters
    ----------
    opened
        The opened package.

    Returns
    -------
    manifest, findings
        The manifest as parsed (returned whenever it is a JSON object, even with schema
        findings, so that a valid ``project_id`` can still be used; check the findings
        before trusting other keys), or None when missing or not a JSON object.
        Findings: PKG-002 (missing, not JSON, not of the schema, a path outside the
        package), PKG-003 (a listed file missing), PKG-004 (checksum differs), PKG-005
        (a file not listed), PKG-009 (a drawing in an unsupported format).
    """
    if opened.root is None:
        return None, []
    return _check_manifest(opened, _listing(opened))


def unsupported_drawings(opened: Opened) -> dict[str, str]:
    """Drawings in ``drawings/`` that are DWG or PDF (by name, or by the bytes of a .dxf).

    Returns
    -------
    dict
        Package-relative path -> format name (``"DWG"`` / ``"PDF"``). Later stages skip
        these files instead of reporting them as unreadable DXF.
    """
    out: dict[str, str] = {}
    for path in sorted(opened.files):
        if not path.startswith(DRAWINGS_DIR):
            continue
        suffix = path[path.rfind(".") :].lower() if "." in path.rsplit("/", 1)[-1] else ""
        if suffix in _UNSUPPORTED_SUFFIXES:
            out[path] = _UNSUPPORTED_SUFFIXES[suffix]
        elif suffix == ".dxf":
            fmt = _sniff(opened, path)
            if fmt:
                out[path] = fmt
    return out


def missing_parts(opened: Opened) -> list[Finding]:
    """PKG-008 for a missing report, site.dxf or parcel.dxf.

    The report must be present in exactly one form: ``report.xlsx`` or
    ``report/<sheet name>.csv``. When both are present, one PKG-008 says so and that
    ``report.xlsx`` is used (as :func:`parsers.report.read_report` does). A drawing
    present only as DWG or PDF is PKG-009 (from :func:`read_manifest`), not PKG-008.
    """
    if opened.root is None:
        return []
    return _missing_parts(_listing(opened))


def missing_floor_plans(opened: Opened, building_numbers: list[str]) -> list[Finding]:
    """PKG-008 for each 4-digit 幢号 without ``drawings/floors/<幢号>.dxf``
    (:meth:`Envelope.missing_floor_plans`)."""
    if opened.root is None:
        return []
    return _listing(opened).missing_floor_plans(building_numbers)


def report_form(opened: Opened) -> str | None:
    """Which report form the package holds: ``"xlsx"``, ``"csv"``, ``"both"`` or None."""
    return _form(set(opened.files) | opened.skipped)


def is_report_csv(path: str) -> bool:
    """Whether a package-relative path is a sheet of the CSV form (``report/<name>.csv``)."""
    return path.startswith(REPORT_DIR) and path.count("/") == 1 and path.lower().endswith(".csv")


# --------------------------------------------------------------------------- the listing


def _listing(opened: Opened) -> Envelope:
    """What the opened package lists, taken once: the paths present, the drawings in an
    unsupported format (each sniffed once) and the report's form."""
    present = frozenset(opened.files) | opened.skipped
    unsupported = unsupported_drawings(opened)
    return Envelope(
        usable=True,
        present=present,
        unsupported=unsupported,
        replaced=frozenset(_stem(p) for p in unsupported),
        report_form=_form(present),
    )


def _form(present: set[str] | frozenset[str]) -> str | None:
    has_xlsx = REPORT_XLSX in present
    has_csv = any(is_report_csv(p) for p in present)
    if has_xlsx and has_csv:
        return "both"
    return "xlsx" if has_xlsx else "csv" if has_csv else None


def _check_manifest(opened: Opened, listing: Envelope) -> tuple[dict | None, list[Finding]]:
    """:func:`read_manifest` over a listing already taken."""
    findings: list[Finding] = []
    try:
        manifest = _load(opened, findings)
        if manifest is not None:
            listed = _check_schema(manifest, findings)
            if listed is not None:
                findings.extend(_check_files(opened, listed))
        findings.extend(
            make("PKG-009", Place(file=path), path=path, fmt=fmt) for path, fmt in listing.unsupported.items()
        )
    except Exception as exc:  # a parser never stops the run
        findings.append(_pkg002(_R["unreadable"].format(error=f"{type(exc).__name__}: {exc}")))
        manifest = None
    return manifest, findings


def _missing_parts(listing: Envelope) -> list[Finding]:
    """:func:`missing_parts` over a listing already taken."""
    findings: list[Finding] = []
    if listing.report_form is None:
        findings.append(make("PKG-008", Place(file=REPORT_XLSX), part=_PART["report"]))
    elif listing.report_form == "both":
        findings.append(make("PKG-008", Place(file=REPORT_DIR), part=_PART["report_both"]))
    for path in (SITE, PARCEL):
        if path not in listing.present and _stem(path) not in listing.replaced:
            findings.append(make("PKG-008", Place(file=path), part=_PART[path]))
    return findings


# --------------------------------------------------------------------------- manifest


def _pkg002(reason: str, key: str | None = None) -> Finding:
    return make("PKG-002", Place(file=MANIFEST, key=key), reason=reason)


def _load(opened: Opened, findings: list[Finding]) -> dict | None:
    path = opened.path(MANIFEST)
    if MANIFEST not in opened.files or path is None:
        if MANIFEST not in opened.skipped:
            findings.append(_pkg002(_R["missing"]))
        return None
    if opened.files[MANIFEST] > MAX_MANIFEST_BYTES:
        findings.append(_pkg002(_R["too_large"].format(limit=MAX_MANIFEST_BYTES)))
        return None
    try:
        data = path.read_bytes()
    except OSError as exc:
        findings.append(_pkg002(_R["unreadable"].format(error=exc)))
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        findings.append(_pkg002(_R["not_utf8"]))
        return None
    duplicates: list[str] = []
    try:
        value = json.loads(text, object_pairs_hook=_pairs(duplicates))
    except json.JSONDecodeError as exc:
        findings.append(
            _pkg002(_R["not_json"].format(line=exc.lineno, col=exc.colno, error=exc.msg))
        )
        return None
    except RecursionError:
        findings.append(_pkg002(_R["not_json"].format(line="?", col="?", error="nesting too deep")))
        return None
    if not isinstance(value, dict):
        findings.append(_pkg002(_R["not_object"]))
        return None
    for key in dict.fromkeys(duplicates):
        findings.append(_pkg002(_R["key_duplicate"].format(key=json.dumps(key, ensure_ascii=False)[:200]), key=key[:200]))
    return value


def _pairs(duplicates: list[str]) -> Any:
    """An ``object_pairs_hook`` that builds the object as json does (the last value of a key
    wins) and notes every key given twice in one object."""

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out = dict(pairs)
        if len(out) != len(pairs):
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen:
                    duplicates.append(key)
                seen.add(key)
        return out

    return hook


def created_ok(value: str) -> bool:
    """Whether ``created`` is an ISO 8601 date and time with its offset
    (``2022-05-06T10:00:00+08:00``), or a date alone (``2022-05-06``)."""
    if len(value) > 64:
        return False
    try:
        if len(value) == 10:
            dt.date.fromisoformat(value)
            return True
        stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return stamp.tzinfo is not None


def _check_schema(
    manifest: dict[str, Any], findings: list[Finding]
) -> dict[str, str | None] | None:
    """PKG-002 for every schema problem; the well-formed listed paths -> sha256 (or None
    when the hash is malformed). None when ``files`` is unusable."""
    if "spec_version" not in manifest:
        findings.append(_pkg002(_R["no_key"].format(key="spec_version"), key="spec_version"))
    elif manifest["spec_version"] != SPEC_VERSION:
        findings.append(
            _pkg002(
                _R["version"].format(
                    value=json.dumps(manifest["spec_version"], ensure_ascii=False)
                ),
                key="spec_version",
            )
        )
    for key in ("project_id", "survey_org", "created"):
        if key not in manifest:
            findings.append(_pkg002(_R["no_key"].format(key=key), key=key))
        elif not isinstance(manifest[key], str) or not manifest[key].strip():
            findings.append(_pkg002(_R["not_str"].format(key=key), key=key))
        elif key == "project_id" and not project_id_ok(manifest[key]):
            findings.append(_pkg002(_R["bad_id"], key=key))
        elif key == "created" and not created_ok(manifest[key]):
            value = json.dumps(manifest[key][:64], ensure_ascii=False)
            findings.append(_pkg002(_R["created"].format(value=value), key=key))
    if "files" not in manifest:
        findings.append(_pkg002(_R["no_key"].format(key="files"), key="files"))
        return None
    if not isinstance(manifest["files"], list):
        findings.append(_pkg002(_R["files_not_list"], key="files"))
        return None
    listed: dict[str, str | None] = {}
    for n, entry in enumerate(manifest["files"], start=1):
        where = f"files[{n}]"
        if not isinstance(entry, dict):
            findings.append(_pkg002(_R["entry_not_object"].format(n=n), key=where))
            continue
        path = entry.get("path")
        if not isinstance(path, str):
            findings.append(_pkg002(_R["entry_path"].format(n=n), key=where))
            continue
        problem = _path_problem(path)
        if problem:
            findings.append(_pkg002(problem, key=path))
            continue
        if path in listed:
            findings.append(_pkg002(_R["path_duplicate"].format(path=path), key=path))
            continue
        sha = entry.get("sha256")
        if isinstance(sha, str) and _SHA256.match(sha):
            listed[path] = sha.lower()
        else:
            findings.append(_pkg002(_R["entry_sha"].format(n=n, path=path), key=path))
            listed[path] = None
    return listed


def _path_problem(path: str) -> str | None:
    """Why a listed path is not a relative ``/``-separated path inside the package."""
    parts = path.replace("\\", "/").split("/")
    if path.startswith(("/", "\\")) or _DRIVE.match(path) or ".." in parts:
        return _R["path_outside"].format(path=path)
    if "\\" in path:
        return _R["path_backslash"].format(path=path)
    if any(p in ("", ".") for p in parts) or "\x00" in path:
        return _R["path_malformed"].format(path=path)
    return None


def _check_files(opened: Opened, listed: dict[str, str | None]) -> list[Finding]:
    findings: list[Finding] = []
    for path, expected in listed.items():
        if path == MANIFEST:
            continue  # it cannot hold its own checksum; listing it is harmless
        if path not in opened.files:
            if path not in opened.skipped:
                findings.append(make("PKG-003", Place(file=path), path=path))
            continue
        if expected is None:
            continue
        actual = opened.hashes.get(path)
        if actual is None:
            file_path = opened.path(path)
            try:
                actual = sha256_file(file_path) if file_path is not None else None
            except OSError:
                actual = None
        if actual is not None and actual != expected:
            findings.append(
                make("PKG-004", Place(file=path), path=path, expected=expected, actual=actual)
            )
    for path in sorted(opened.files):
        if path != MANIFEST and path not in listed:
            findings.append(make("PKG-005", Place(file=path), path=path))
    return findings


# --------------------------------------------------------------------------- drawings


def _sniff(opened: Opened, path: str) -> str | None:
    """DWG or PDF by the first bytes of a file named .dxf."""
    file_path = opened.path(path)
    if file_path is None:
        return None
    try:
        with open(file_path, "rb") as fh:
            head = fh.read(8)
    except OSError:
        return None
    if _DWG_MAGIC.match(head):
        return "DWG"
    if head.startswith(b"%PDF-"):
        return "PDF"
    return None


def _stem(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return path[: len(path) - len(name)] + (name.rsplit(".", 1)[0] if "." in name else name)

