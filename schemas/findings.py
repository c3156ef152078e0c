"""The finding record shared by parsers, rules and flows.

A finding is what a check says about one thing in a package: a stable rule code, the
severity in force, the survey it belongs to, a Chinese message filled from the catalogue's
template, the object it is about (sheet + row + key, or file + layer + handle), the figures
compared and a point in the project CRS where the thing has a place.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")


@dataclass(frozen=True, slots=True)
class Place:
    """Where a finding is: a table cell range or a drawing entity (or both).

    ``row`` is the spreadsheet row a person sees (header = row 1). ``field`` is the
    column's standard code for table findings (an extension of results.md's object);
    ``header`` the column's header as the firm's workbook writes it (``房屋用途`` or
    ``房屋用途(FWYT)``) and ``cell`` the cell as Excel names it, on the sheet as written
    (``户!F5``; a CSV file's stem is its sheet). Both added in v1.1, after the others.
    """

    sheet: str | None = None
    row: int | None = None
    key: str | None = None
    field: str | None = None
    file: str | None = None
    layer: str | None = None
    handle: str | None = None
    header: str | None = None
    cell: str | None = None

    def as_dict(self) -> dict[str, Any]:
        # its fields are text and numbers: no deep copy (``asdict``), which costs a
        # noticeable part of each finding when a sheet has 100 000 of them
        return {k: v for k in self.__slots__ if (v := getattr(self, k)) is not None}


@dataclass(frozen=True, slots=True)
class Finding:
    """One defect (or note) about one object of a package."""

    code: str
    severity: Severity
    domain: str
    message: str
    object: Place = field(default_factory=Place)
    expected: float | str | None = None
    actual: float | str | None = None
    tolerance: float | None = None
    location: tuple[float, float] | None = None
    local: tuple[float, float] | None = None  # floor-plan-local point, no CRS

    def with_severity(self, severity: Severity) -> Finding:
        return replace(self, severity=severity)

    def as_dict(self) -> dict[str, Any]:
        """The findings.json form of results.md."""
        out: dict[str, Any] = {
            "code": self.code,
            "severity": self.severity,
            "domain": self.domain,
            "message": self.message,
            "object": self.object.as_dict(),
            "expected": _plain(self.expected),
            "actual": _plain(self.actual),
            "tolerance": _plain(self.tolerance),
            "location": (
                {"x": round(self.location[0], 3), "y": round(self.location[1], 3)}
                if self.location is not None
                else None
            ),
        }
        if self.local is not None:
            out["local"] = {"x": round(self.local[0], 3), "y": round(self.local[1], 3)}
        return out

    @property
    def identity(self) -> tuple[str, str, str, str, str, str]:
        """Code and object, not message: how revisions match the same finding."""
        o = self.object
        return (
            self.code,
            o.sheet or "",
            o.key or (str(o.row) if o.row is not None else ""),
            o.field or "",
            o.file or "",
            o.layer or "",
        )


def _plain(value: Any) -> Any:
    """Numbers as JSON numbers (numpy scalars included), NaN as null."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    if f != f or f in (float("inf"), float("-inf")):
        return None
    if float(f).is_integer() and abs(f) < 2**53 and not isinstance(value, float):
        return int(f)
    return round(f, 6)


def count_by_severity(findings: list[Finding]) -> dict[str, int]:
    counts = {s: 0 for s in SEVERITIES}
    for f in findings:
        counts[f.severity] += 1
    return counts
