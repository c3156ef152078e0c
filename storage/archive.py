"""What a revision was told, read back from the store: the ``findings.json`` archived in its
城建档案 (archive department) product.

:func:`archived_findings` reads one revision's (what the analysts' rerun and statistics
count); :func:`previous_check` finds the findings of the revision before a given one (what
the revision diff compares with, :mod:`analysis.revisions`). Reading only; a findings.json
that cannot be read is logged and taken as absent.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage.store import Store

__all__ = [
    "ARCHIVE",
    "FINDINGS_NAME",
    "PreviousCheck",
    "archived_findings",
    "previous_check",
    "previous_findings",
]

log = logging.getLogger(__name__)

ARCHIVE = "archive"
FINDINGS_NAME = "findings.json"


def archived_findings(store: Store, project_id: str, revision: int) -> dict[str, Any] | None:
    """The findings.json archived with a revision (城建档案 product), or None."""
    reader = store.reader(ARCHIVE)
    try:
        product = reader.product(project_id, revision)
        with reader.open(product, FINDINGS_NAME) as fh:
            doc = json.loads(fh.read().decode("utf-8"))
    except (LookupError, OSError, ValueError) as exc:
        log.info("no archived findings for %s r%d: %s", project_id, revision, exc)
        return None
    return doc if isinstance(doc, dict) else None


@dataclass(frozen=True)
class PreviousCheck:
    """The findings.json of an earlier revision, as archived."""

    revision: int
    document: dict[str, Any]

    @property
    def findings(self) -> list[dict[str, Any]]:
        return list(self.document.get("findings") or [])


def previous_check(store: Store, project_id: str, before_revision: int) -> PreviousCheck | None:
    """The archived findings.json of the latest revision below ``before_revision``.

    Only revisions with a published archive product count (a revision whose publication
    never completed has told nobody anything). None when there is none, or when its
    findings.json cannot be read (logged).
    """
    reader = store.reader(ARCHIVE)
    earlier = [p for p in reader.products(project_id) if p.revision < before_revision]
    if not earlier:
        return None
    product = max(earlier, key=lambda p: p.revision)
    try:
        with reader.open(product, FINDINGS_NAME) as fh:
            doc = json.loads(fh.read().decode("utf-8"))
    except (OSError, ValueError) as exc:
        log.warning(
            "cannot read %s of %s r%d: %s", FINDINGS_NAME, project_id, product.revision, exc
        )
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("findings", []), list):
        log.warning(
            "%s of %s r%d is not a findings document", FINDINGS_NAME, project_id, product.revision
        )
        return None
    return PreviousCheck(product.revision, doc)


def previous_findings(
    store: Store, project_id: str, before_revision: int
) -> list[dict[str, Any]] | None:
    """The findings (findings.json dicts) of the revision before ``before_revision``, or
    None if there is none (see :func:`previous_check`)."""
    prev = previous_check(store, project_id, before_revision)
    return None if prev is None else prev.findings
