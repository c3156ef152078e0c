"""What changed since the last revision: each finding fixed, new or still open.

A finding is matched across revisions by its code and its object (:attr:`Finding.identity`:
code, sheet, key or row, field, file, layer), never by its message, whose figures change
when the firm corrects a figure half-way, nor by the entity handle, which CAD renumbers on
every save. Findings of one identity are matched by count: two DXF-004 on one layer before
and three now are two open and one new.

The previous revision's findings are read from its archive product (``findings.json`` of
the 城建档案 department), which is the record of what that revision was told
(:func:`storage.archive.previous_check`; :func:`analysis.revisions.compare_with_previous`
puts the two together). This module only compares and writes: no store.

``revision_diff.json`` (:func:`diff_document`)::

    {"spec_version": "1", "project_id": "…", "revision": 2, "previous_revision": 1,
     "counts": {"fixed": 1, "new": 1, "open": 0},
     "findings": [{…the findings.json finding…, "status": "new"}],
     "fixed": [{…the previous revision's finding…}]}
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from outputs.results import SPEC_VERSION, dumps, write_atomic
from schemas.findings import Finding

__all__ = [
    "STATUSES",
    "Comparison",
    "Identity",
    "Status",
    "compare",
    "diff_document",
    "identity_of",
    "write_diff",
]

Status = Literal["fixed", "new", "open"]
STATUSES: tuple[Status, ...] = ("fixed", "new", "open")
Identity = tuple[str, str, str, str, str, str]


def identity_of(finding: Finding | Mapping[str, Any]) -> Identity:
    """:attr:`Finding.identity` of a finding or of its findings.json form."""
    if isinstance(finding, Finding):
        return finding.identity
    o = finding.get("object") or {}
    row = o.get("row")
    return (
        str(finding.get("code") or ""),
        o.get("sheet") or "",
        o.get("key") or (str(row) if row is not None else ""),
        o.get("field") or "",
        o.get("file") or "",
        o.get("layer") or "",
    )


@dataclass(frozen=True)
class Comparison:
    """The current findings, each with its status, and the previous ones now fixed.

    Attributes
    ----------
    current
        The current revision's findings, in their order.
    statuses
        ``new`` or ``open`` for each of ``current`` (same order).
    fixed
        The previous revision's findings (findings.json dicts) not found any more.
    has_previous
        False when there was nothing to compare with (a first revision): then every
        current finding is ``new`` and a report should not make much of it.
    previous_revision
        The revision compared with, when known.
    """

    current: tuple[Finding, ...]
    statuses: tuple[Status, ...]
    fixed: tuple[dict[str, Any], ...]
    has_previous: bool
    previous_revision: int | None = None
    _by_identity: dict[Identity, Status] = field(default_factory=dict, repr=False, compare=False)

    @property
    def counts(self) -> dict[str, int]:
        """``{"fixed": n, "new": n, "open": n}``."""
        c = Counter(self.statuses)
        return {"fixed": len(self.fixed), "new": c["new"], "open": c["open"]}

    def pairs(self) -> list[tuple[Finding, Status]]:
        """Each current finding with its status."""
        return list(zip(self.current, self.statuses, strict=True))

    def status(self, finding: Finding | Mapping[str, Any]) -> Status | None:
        """The status of a current finding's identity (``open`` if any of that identity
        is still there from before), or None if no current finding has it."""
        return self._by_identity.get(identity_of(finding))

    def as_previous_map(self) -> dict[Any, Any] | None:
        """For the HTML report (``render_html(result, previous=…)``): None when there was
        nothing to compare with (a first revision), else
        ``{identity: "new" | "open", …, "fixed": [dicts], "revision": n}``.

        Keys are :attr:`Finding.identity` tuples; the string key ``"fixed"`` holds the
        previous revision's findings that are gone and ``"revision"`` the revision
        compared with (None if unknown).
        """
        if not self.has_previous:
            return None
        out: dict[Any, Any] = dict(self._by_identity)
        out["fixed"] = [dict(d) for d in self.fixed]
        out["revision"] = self.previous_revision
        return out


def compare(
    previous: Sequence[Mapping[str, Any]] | None,
    current: Sequence[Finding],
    *,
    previous_revision: int | None = None,
) -> Comparison:
    """Match the current findings against the previous revision's.

    Parameters
    ----------
    previous
        The previous revision's findings as findings.json dicts, or None if there is no
        previous revision (every current finding is then ``new``).
    current
        This revision's findings.
    previous_revision
        The revision ``previous`` came from, carried along for the report.

    Returns
    -------
    Comparison
    """
    before: dict[Identity, list[Mapping[str, Any]]] = defaultdict(list)
    for d in previous or ():
        before[identity_of(d)].append(d)
    seen: Counter[Identity] = Counter()
    statuses: list[Status] = []
    by_identity: dict[Identity, Status] = {}
    for f in current:
        key = f.identity
        status: Status = "open" if seen[key] < len(before.get(key, ())) else "new"
        seen[key] += 1
        statuses.append(status)
        if by_identity.get(key) != "open":
            by_identity[key] = status
    fixed = [dict(d) for key, ds in before.items() for d in ds[seen[key] :]]
    return Comparison(
        current=tuple(current),
        statuses=tuple(statuses),
        fixed=tuple(fixed),
        has_previous=previous is not None,
        previous_revision=previous_revision,
        _by_identity=by_identity,
    )


# ---------------------------------------------------------------- revision_diff.json


def diff_document(
    comparison: Comparison, project_id: str | None, revision: int | None
) -> dict[str, Any]:
    """The content of ``revision_diff.json`` (see the module docstring)."""
    return {
        "spec_version": SPEC_VERSION,
        "project_id": project_id,
        "revision": revision,
        "previous_revision": comparison.previous_revision,
        "has_previous": comparison.has_previous,
        "counts": comparison.counts,
        "findings": [{**f.as_dict(), "status": s} for f, s in comparison.pairs()],
        "fixed": [dict(d) for d in comparison.fixed],
    }


def write_diff(
    comparison: Comparison, path: Path, project_id: str | None, revision: int | None
) -> dict[str, Any]:
    """Write ``revision_diff.json`` atomically; returns its content."""
    doc = diff_document(comparison, project_id, revision)
    write_atomic(Path(path), dumps(doc))
    return doc
