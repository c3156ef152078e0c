"""For analysts: check the archive again under today's rules.

:func:`rerun` checks every stored revision (of one project, or since a date) again with the
rules of this version and the profile given, and says which verdicts would change and why
(the rule codes found more or less often than the archived findings.json says). It reads
only: raw packages are verified, extracted into a private work folder in the store's
``tmp/`` and checked; nothing is recorded, published or changed. A package whose stored
copy no longer hashes to its name is reported as ``damaged`` and not checked.

The Prefect flow ``rerun_archive`` (:mod:`flows.rerun`) runs :func:`rerun_stored_batch` as
one task per batch of stored packages, on threads or on Dask worker processes: it takes
paths and plain data (the store's folder, each package's sha256 and revisions as dicts, the
profile's name) and gives back small plain dicts (verdict, counts, CPU seconds, the rows as
dicts), so nothing heavy crosses between processes. Statistics over the archive: :mod:`analysis.stats`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
import traceback
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from engine.precheck import precheck
from schemas.findings import SEVERITIES
from schemas.profile import Profile, load_profile
from storage.archive import archived_findings

if TYPE_CHECKING:
    from storage.store import Revision, Store

__all__ = [
    "RerunRow",
    "RerunStatus",
    "by_package",
    "in_order",
    "rerun",
    "rerun_package",
    "rerun_stored",
    "rerun_stored_batch",
    "revision_dicts",
    "select_revisions",
]

log = logging.getLogger(__name__)

RerunStatus = Literal["changed", "unchanged", "damaged", "failed"]
_SEVERITY_RANK: dict[str, int] = {s: i for i, s in enumerate(SEVERITIES)}  # error first


@dataclass(frozen=True)
class RerunRow:
    """One revision checked again.

    Attributes
    ----------
    status
        ``changed`` (verdict differs), ``unchanged``, ``damaged`` (the stored package does
        not hash to its name: not checked) or ``failed`` (the check itself broke: a bug).
    added, removed
        Per rule code, how many findings more (``added``) or fewer (``removed``) than the
        archived findings.json; empty when that file is missing (``codes_known`` False).
    severity_changed
        Codes found both times whose (highest) severity differs: ``{code: (old, new)}``.
    """

    project_id: str
    revision: int
    package_sha256: str
    firm: str | None
    submitted_at: str
    status: RerunStatus
    old_verdict: str
    new_verdict: str | None = None
    old_ruleset: str = ""
    new_ruleset: str | None = None
    old_profile: str = ""
    new_profile: str = ""
    old_counts: dict[str, int] = field(default_factory=dict)
    new_counts: dict[str, int] = field(default_factory=dict)
    added: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)
    severity_changed: dict[str, tuple[str, str]] = field(default_factory=dict)
    codes_known: bool = True
    detail: str | None = None

    @property
    def changed(self) -> bool:
        return self.status == "changed"

    @property
    def reason(self) -> str:
        """Why, in one line: ``PLN-007 −1; XSV-003 +2; CRS-005 warning→error``."""
        if self.status in ("damaged", "failed"):
            return self.detail or self.status
        parts = [f"{c} +{n}" for c, n in sorted(self.added.items())]
        parts += [f"{c} −{n}" for c, n in sorted(self.removed.items())]
        parts += [f"{c} {a}→{b}" for c, (a, b) in sorted(self.severity_changed.items())]
        if not self.codes_known:
            parts.append("归档 findings.json 缺失，无法比较规则")
        return "; ".join(parts) or "规则结果相同（城市配置的容缺事项不同）"

    def as_dict(self) -> dict[str, Any]:
        """A plain dict (JSON-ready) with ``reason``."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["severity_changed"] = {k: list(v) for k, v in self.severity_changed.items()}
        out["reason"] = self.reason
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RerunRow:
        """The row :meth:`as_dict` gave (``reason`` is derived, so dropped)."""
        values = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        values["severity_changed"] = {
            k: (v[0], v[1]) for k, v in (data.get("severity_changed") or {}).items()
        }
        return cls(**values)


@dataclass(frozen=True)
class _Outcome:
    """What one check of a package said, reduced to what a rerun row needs."""

    verdict: str
    ruleset: str
    counts: dict[str, int]
    codes: Counter[str]
    severity: dict[str, str]


def _code_summary(findings: Iterable[tuple[str, str]]) -> tuple[Counter[str], dict[str, str]]:
    """(code, severity) pairs → count per code and highest severity per code."""
    codes: Counter[str] = Counter()
    worst: dict[str, str] = {}
    for code, severity in findings:
        codes[code] += 1
        if code not in worst or _SEVERITY_RANK.get(severity, 9) < _SEVERITY_RANK.get(
            worst[code], 9
        ):
            worst[code] = severity
    return codes, worst


def _submitted_on(submitted_at: str) -> dt.date | None:
    try:
        return dt.datetime.fromisoformat(submitted_at).date()
    except ValueError:
        try:
            return dt.date.fromisoformat(submitted_at[:10])
        except ValueError:
            return None


def select_revisions(
    store: Store, project_id: str | None = None, since: dt.date | None = None
) -> list[Revision]:
    """The revisions of one project (or all), submitted on or after ``since`` (the date as
    recorded, i.e. the check's local date)."""
    revisions = store.revisions(project_id)
    if since is None:
        return revisions
    return [r for r in revisions if (d := _submitted_on(r.submitted_at)) is not None and d >= since]


def _check(store: Store, sha256: str, profile: Profile) -> _Outcome:
    raw = store.raw_path(sha256)
    if raw is None:
        raise FileNotFoundError(f"package {sha256} is not stored")
    with store.workspace("rerun") as wd:
        result = precheck(raw, profile, wd)
    codes, worst = _code_summary((f.code, f.severity) for f in result.findings)
    return _Outcome(
        result.verdict.verdict, result.ruleset_version, dict(result.counts), codes, worst
    )


def _row(store: Store, rev: Revision, profile: Profile, now: _Outcome) -> RerunRow:
    doc = archived_findings(store, rev.project_id, rev.revision)
    base = _base(rev, profile)
    if doc is None:
        return RerunRow(
            **base,
            status="changed" if now.verdict != rev.verdict else "unchanged",
            new_verdict=now.verdict,
            new_ruleset=now.ruleset,
            new_counts=now.counts,
            codes_known=False,
        )
    old_codes, old_worst = _code_summary(
        (str(f.get("code")), str(f.get("severity")))
        for f in doc.get("findings") or []
        if isinstance(f, dict)
    )
    added = {c: now.codes[c] - old_codes[c] for c in now.codes if now.codes[c] > old_codes[c]}
    removed = {c: old_codes[c] - now.codes[c] for c in old_codes if old_codes[c] > now.codes[c]}
    severity_changed = {
        c: (old_worst[c], now.severity[c])
        for c in old_worst.keys() & now.severity.keys()
        if old_worst[c] != now.severity[c]
    }
    return RerunRow(
        **base,
        status="changed" if now.verdict != rev.verdict else "unchanged",
        new_verdict=now.verdict,
        new_ruleset=now.ruleset,
        new_counts=now.counts,
        added=dict(sorted(added.items())),
        removed=dict(sorted(removed.items())),
        severity_changed=dict(sorted(severity_changed.items())),
    )


def _base(rev: Revision, profile: Profile) -> dict[str, Any]:
    return {
        "project_id": rev.project_id,
        "revision": rev.revision,
        "package_sha256": rev.package_sha256,
        "firm": rev.firm,
        "submitted_at": rev.submitted_at,
        "old_verdict": rev.verdict,
        "old_ruleset": rev.ruleset_version,
        "old_profile": rev.profile,
        "new_profile": profile.name,
        "old_counts": dict(rev.counts),
    }


def rerun_package(
    store: Store, sha256: str, revisions: Sequence[Revision], profile: Profile
) -> list[RerunRow]:
    """Check one stored package again and compare with each revision that holds it.

    The package is verified first: a damaged one gives ``damaged`` rows and is not
    checked. A check that raises (a bug of ours, never the package's) gives ``failed``
    rows so that one package cannot stop a rerun of the whole archive.
    """
    if not store.verify_raw(sha256):
        detail = "成果库中的原始成果包已损坏或缺失（校验值不符），未重新检查"
        return [RerunRow(**_base(r, profile), status="damaged", detail=detail) for r in revisions]
    try:
        now = _check(store, sha256, profile)
    except Exception as exc:  # noqa: BLE001 - reported per row, the rerun goes on
        log.exception("rerun of package %s failed", sha256)
        detail = f"内部错误：{type(exc).__name__}: {exc} | {traceback.format_exc(limit=2).splitlines()[-1]}"
        return [RerunRow(**_base(r, profile), status="failed", detail=detail) for r in revisions]
    return [_row(store, r, profile, now) for r in revisions]


def revision_dicts(revisions: Iterable[Revision]) -> list[dict[str, Any]]:
    """Revisions as plain dicts: what a task on another process is given."""
    return [dataclasses.asdict(r) for r in revisions]


def _open_store(root: str) -> Store:
    from storage.store import Store

    return Store(root)


def rerun_stored(
    store_root: str, sha256: str, revisions: Sequence[dict[str, Any]], profile: str
) -> dict[str, Any]:
    """:func:`rerun_package` from paths and plain data to a small plain dict: one package.

    Parameters
    ----------
    store_root
        The store's folder (the worker opens the store itself).
    sha256
        The stored package.
    revisions
        The revisions that hold it, as :func:`revision_dicts` gives them.
    profile
        A bundled profile's name or a .toml profile's path.

    Returns
    -------
    dict
        ``sha256``; ``status`` (``checked``, ``damaged`` or ``failed``); ``verdict`` and
        ``counts`` of the check (None when not checked); ``check_cpu_s`` (CPU of
        :func:`rerun_package`: verify, extract, read, judge, compare with the archived
        findings) and ``task_cpu_s`` (the whole call, opening the store and the profile
        too), both this thread's; ``wall_s``; ``rows`` (:meth:`RerunRow.as_dict` of each revision).
    """
    return rerun_stored_batch(store_root, [(sha256, revisions)], profile)[0]


def rerun_stored_batch(
    store_root: str, packages: Sequence[tuple[str, Sequence[dict[str, Any]]]], profile: str
) -> list[dict[str, Any]]:
    """:func:`rerun_stored` for several packages, the store opened and the profile loaded
    once (a task of the Prefect flow): ``packages`` are ``(sha256, revisions)`` pairs; a
    dict for each, in their order. The first package's ``task_cpu_s`` includes the opening
    of the store and of the profile; each ``check_cpu_s`` is its own."""
    from storage.catalogue import Revision

    wall0, cpu0 = time.perf_counter(), time.thread_time()
    store = _open_store(store_root)
    prof = load_profile(profile)
    out = []
    for sha256, revisions in packages:
        revs = [Revision(**r) for r in revisions]
        check0 = time.thread_time()
        rows = rerun_package(store, sha256, revs, prof)
        check_cpu = time.thread_time() - check0
        statuses = {r.status for r in rows}
        status = (
            "damaged" if "damaged" in statuses else "failed" if "failed" in statuses else "checked"
        )
        first = rows[0] if rows else None
        out.append(
            {
                "sha256": sha256,
                "status": status,
                "verdict": first.new_verdict if first else None,
                "counts": dict(first.new_counts) if first and status == "checked" else None,
                "check_cpu_s": check_cpu,
                "task_cpu_s": time.thread_time() - cpu0,
                "wall_s": time.perf_counter() - wall0,
                "rows": [r.as_dict() for r in rows],
            }
        )
        wall0, cpu0 = time.perf_counter(), time.thread_time()
    return out


def by_package(revisions: Iterable[Revision]) -> dict[str, list[Revision]]:
    groups: dict[str, list[Revision]] = {}
    for r in revisions:
        groups.setdefault(r.package_sha256, []).append(r)
    return groups


def in_order(rows: Iterable[RerunRow], include_unchanged: bool) -> list[RerunRow]:
    kept = [r for r in rows if include_unchanged or r.status != "unchanged"]
    return sorted(kept, key=lambda r: (r.project_id, r.revision))


def rerun(
    store: Store,
    profile: Profile,
    project_id: str | None = None,
    since: dt.date | None = None,
    *,
    include_unchanged: bool = False,
) -> list[RerunRow]:
    """Check stored revisions again under today's rules and ``profile``; change nothing.

    Parameters
    ----------
    store
        The store.
    profile
        The profile to check with (usually today's; it may differ from each revision's).
    project_id
        Only this project's revisions.
    since
        Only revisions submitted on or after this date.
    include_unchanged
        Also list the revisions whose verdict stays the same.

    Returns
    -------
    list[RerunRow]
        By project and revision: each revision whose verdict changed, each whose package
        is damaged or whose check failed (and, if asked, the unchanged ones). Each package
        is checked once, however many revisions hold it.
    """
    rows: list[RerunRow] = []
    for sha256, revs in by_package(select_revisions(store, project_id, since)).items():
        rows += rerun_package(store, sha256, revs, profile)
    return in_order(rows, include_unchanged)
