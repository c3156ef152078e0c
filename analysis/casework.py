"""What the acceptance case takes from the store and gives back, without Prefect.

One place for ``duoce case`` (interfaces/case_cli.py), the case flows (flows/case.py) and
the web pages (interfaces/web/casework.py, interfaces/web/checks.py): the facts a case
keeps of a stored revision (its catalogue row and the findings.json archived with it),
and the departments whose products get the case's combined opinion. It sits in
``analysis`` because it joins the store (storage/archive.py) with the writers' finding
identity (outputs/revisions.py), which neither of those rooms may import of the other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from cases.events import FindingRef
from outputs.revisions import identity_of
from storage.archive import archived_findings
from storage.catalogue import DEPARTMENTS

if TYPE_CHECKING:
    from cases.case import Case
    from storage.store import Store

__all__ = [
    "FindingsUnreadable",
    "RevisionNotRecorded",
    "opinion_departments",
    "revision_facts",
]


class RevisionNotRecorded(LookupError):
    """The catalogue has no such revision (CASE-010)."""


class FindingsUnreadable(LookupError):
    """The findings.json archived with a revision cannot be read (CASE-010)."""


def revision_facts(
    store: Store, project_id: str, revision: int, tolerated: Collection[str]
) -> dict[str, Any]:
    """What a case keeps of a stored revision.

    Parameters
    ----------
    store
        The store holding the revision.
    project_id, revision
        The revision.
    tolerated
        The codes the profile tolerates (容缺): an error finding of one of them is a
        tolerated item of the case.

    Returns
    -------
    dict
        ``package_sha256``, ``verdict``, ``firm`` (``""`` when unknown), ``deadline``
        (the 容缺 deadline as a date, or None), ``deadline_basis`` and ``findings`` (a
        tuple of :class:`cases.events.FindingRef`).

    Raises
    ------
    RevisionNotRecorded
        The revision is not recorded.
    FindingsUnreadable
        Its archived findings.json cannot be read.
    """
    rev = store.catalogue.revision(project_id, revision)
    if rev is None:
        raise RevisionNotRecorded(f"CASE-010 成果库中没有项目 {project_id} 的第 {revision} 版")
    doc = archived_findings(store, project_id, revision)
    if doc is None:
        raise FindingsUnreadable(
            f"CASE-010 无法读取项目 {project_id} 第 {revision} 版归档的 findings.json"
        )
    refs = tuple(
        FindingRef(
            str(f.get("code")),
            str(f.get("domain") or ""),
            str(f.get("severity") or ""),
            identity_of(f),
            f.get("severity") == "error" and f.get("code") in tolerated,
        )
        for f in doc.get("findings") or []
    )
    deadline = doc.get("deadline")
    return {
        "package_sha256": rev.package_sha256,
        "verdict": rev.verdict,
        "firm": rev.firm or "",
        "deadline": dt.date.fromisoformat(deadline) if deadline else None,
        "deadline_basis": doc.get("deadline_basis"),
        "findings": refs,
    }


def opinion_departments(case: Case) -> list[str]:
    """The departments whose products get the combined opinion: those the case asked, and
    the archive (the firm's copy stays the case's folder)."""
    return [d for d in DEPARTMENTS if d in case.requested or d == "archive"]
