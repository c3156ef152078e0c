"""For analysts: count what the checks found.

:func:`stats` tabulates the catalogue and the archived findings: per surveying firm
(测绘单位, the revision's ``firm``), per rule code and per month.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from schemas.catalogue import CATALOGUE
from storage.archive import archived_findings

if TYPE_CHECKING:
    from storage.store import Store

__all__ = ["Stats", "stats"]


@dataclass(frozen=True)
class Stats:
    """Tables over the whole store.

    Attributes
    ----------
    by_firm
        Index ``firm`` (测绘单位; ``（未填）`` when unknown): projects, submissions,
        revisions, the verdicts of the revisions, findings per severity, and
        ``first_accepted`` (projects whose revision 1 was not rejected).
    by_rule
        Index ``code``: title, domain, findings, revisions, projects and firms with it,
        from the archived findings.json of every revision; most frequent first.
    by_month
        Index ``month`` (``YYYY-MM`` of the submission): submissions, revisions, projects,
        verdicts, findings per severity.
    """

    by_firm: pd.DataFrame
    by_rule: pd.DataFrame
    by_month: pd.DataFrame


UNKNOWN_FIRM = "（未填）"
VERDICT_COLUMNS = ("accepted", "accepted_with_deficiencies", "rejected")
SEVERITY_COLUMNS = {"error": "errors", "warning": "warnings", "info": "infos"}


def _revision_frame(store: Store) -> pd.DataFrame:
    revs = store.revisions()
    frame = pd.DataFrame(
        {
            "project_id": pd.Series([r.project_id for r in revs], dtype="str"),
            "revision": pd.Series([r.revision for r in revs], dtype="int64"),
            "firm": pd.Series([r.firm or UNKNOWN_FIRM for r in revs], dtype="str"),
            "verdict": pd.Series([r.verdict for r in revs], dtype="str"),
            "month": pd.Series([r.submitted_at[:7] for r in revs], dtype="str"),
        }
    )
    for sev, col in SEVERITY_COLUMNS.items():
        frame[col] = pd.Series([int(r.counts.get(sev, 0)) for r in revs], dtype="int64")
    return frame


def _findings_frame(store: Store, revs: pd.DataFrame) -> pd.DataFrame:
    rows: list[tuple[str, int, str, str, str]] = []
    for pid, rev in zip(revs["project_id"], revs["revision"], strict=True):
        doc = archived_findings(store, pid, int(rev))
        for f in (doc or {}).get("findings") or []:
            if isinstance(f, dict) and f.get("code"):
                rows.append(
                    (
                        pid,
                        int(rev),
                        str(f["code"]),
                        str(f.get("severity") or ""),
                        str(f.get("domain") or ""),
                    )
                )
    columns = ["project_id", "revision", "code", "severity", "domain"]
    frame = pd.DataFrame(rows, columns=columns).astype(
        {c: "str" for c in columns} | {"revision": "int64"}
    )
    return frame.merge(
        revs[["project_id", "revision", "firm", "month"]], on=["project_id", "revision"], how="left"
    )


def _verdicts(revs: pd.DataFrame, by: str) -> pd.DataFrame:
    table = pd.crosstab(revs[by], revs["verdict"])
    return table.reindex(columns=list(VERDICT_COLUMNS), fill_value=0)


def stats(store: Store) -> Stats:
    """Findings and verdicts per firm, per rule code and per month (see :class:`Stats`)."""
    revs = _revision_frame(store)
    subs_list = store.submissions()
    subs = pd.DataFrame(
        {
            "firm": pd.Series([s.firm or UNKNOWN_FIRM for s in subs_list], dtype="str"),
            "month": pd.Series([s.submitted_at[:7] for s in subs_list], dtype="str"),
        }
    )
    found = _findings_frame(store, revs)
    severity_cols = list(SEVERITY_COLUMNS.values())

    def per(by: str) -> pd.DataFrame:
        grouped = revs.groupby(by)
        table = pd.DataFrame(
            {
                "projects": grouped["project_id"].nunique(),
                "submissions": subs.groupby(by).size(),
                "revisions": grouped.size(),
            }
        )
        table = table.join(_verdicts(revs, by)).join(grouped[severity_cols].sum())
        table = table.fillna(0).astype("int64")
        table.index.name = by
        return table

    by_firm = per("firm")
    first = revs[revs["revision"] == 1]
    by_firm["first_accepted"] = (
        first[first["verdict"] != "rejected"]
        .groupby("firm")
        .size()
        .reindex(by_firm.index, fill_value=0)
        .astype("int64")
    )

    g = found.groupby("code")
    by_rule = pd.DataFrame(
        {
            "findings": g.size(),
            "revisions": found.drop_duplicates(["code", "project_id", "revision"])
            .groupby("code")
            .size(),
            "projects": g["project_id"].nunique(),
            "firms": g["firm"].nunique(),
        }
    )
    by_rule.insert(
        0, "domain", [CATALOGUE[c].domain if c in CATALOGUE else "" for c in by_rule.index]
    )
    by_rule.insert(
        0, "title", [CATALOGUE[c].title if c in CATALOGUE else "" for c in by_rule.index]
    )
    by_rule = by_rule.sort_values(["findings", "revisions"], ascending=False, kind="stable")
    by_rule.index.name = "code"

    by_month = per("month").sort_index()
    return Stats(by_firm=by_firm, by_rule=by_rule, by_month=by_month)
