"""Read a whole package: envelope, manifest, report and drawings → ``schemas.package.Package``.

One walk, each part once and in order: the archive is opened (a folder listed, a zip
extracted safely, every file hashed once: :mod:`parsers.archive`); the envelope is read
from that listing (manifest and checksums, the parts present, the drawings in an
unsupported format: :mod:`parsers.manifest`); the drawings are handed to their readers;
the report is read (:mod:`parsers.report`), and the floor plans its buildings need are
looked up in the envelope; the drawings are read last.

Reading never stops on a bad part: what cannot be read becomes findings about that part
and the rest is still read. Drawings go through the fast reader where it can be trusted
and ezdxf (with recover) otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from parsers.archive import open_package
from parsers.dxf import read_drawing
from parsers.manifest import FLOORS_DIR as FLOORS
from parsers.manifest import PARCEL, SITE, read_envelope
from parsers.report import read_report
from schemas.findings import Finding
from schemas.package import Package
from schemas.profile import Profile

Progress = Callable[[str], None]


def drawing_paths(files: dict[str, int]) -> dict[str, str]:
    """Drawing key ("site", "parcel", "floor:0001") → package-relative path."""
    out = {}
    if SITE in files:
        out["site"] = SITE
    if PARCEL in files:
        out["parcel"] = PARCEL
    for rel in sorted(files):
        if rel.startswith(FLOORS) and rel.count("/") == 2 and rel.endswith(".dxf"):
            out[f"floor:{rel[len(FLOORS):-4]}"] = rel
    return out


def read_package(
    source: Path,
    workdir: Path,
    profile: Profile,
    progress: Progress | None = None,
    defer: bool = False,
) -> Package:
    """Open and read every part of a package (a directory or a zip).

    With ``defer`` the drawings are read only by :meth:`schemas.package.Package.settle`, so
    that the caller can type the report first.
    """
    note = progress or (lambda _msg: None)
    note("打开成果包")
    opened = open_package(Path(source), Path(workdir), profile.limits)
    pkg = Package(source=str(source), sha256=opened.sha256, root=opened.root, files=dict(opened.files))
    pkg.findings += opened.findings
    if opened.root is None:
        return pkg
    note("读取 manifest.json")
    envelope = read_envelope(opened)
    pkg.manifest = envelope.manifest
    pkg.findings += envelope.findings
    skip = envelope.unsupported  # DWG / PDF: PKG-009 already
    jobs = [(key, opened.path(rel), rel) for key, rel in drawing_paths(pkg.files).items() if rel not in skip]
    note("读取报表")
    pkg.tables, pkg.report_form, found = read_report(opened, envelope)
    pkg.findings += found
    building = pkg.tables.get("building")
    if building is not None and "ZRZH" in building.columns:
        numbers = [str(z).strip()[20:24] for z in building["ZRZH"].dropna() if len(str(z).strip()) >= 24]
        pkg.findings += envelope.missing_floor_plans(numbers)

    def settle() -> list[Finding]:
        found: list[Finding] = []
        for key, path, rel in jobs:
            note(f"读取图形 {rel}")
            pkg.drawings[key], more = read_drawing(path, rel, profile.limits)
            found += more
        return found

    pkg.defer(settle)
    if not defer:
        pkg.settle()
    return pkg
