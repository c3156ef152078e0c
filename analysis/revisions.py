"""A revision's findings compared with what the revision before it was told.

The previous revision's findings come from the store (:func:`storage.archive.previous_check`,
the archived findings.json); the matching is :func:`outputs.revisions.compare`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from outputs.revisions import Comparison, compare
from schemas.findings import Finding
from storage.archive import previous_check

if TYPE_CHECKING:
    from storage.store import Store

__all__ = ["compare_with_previous"]


def compare_with_previous(
    store: Store, project_id: str, revision: int, current: Sequence[Finding]
) -> Comparison:
    """:func:`~outputs.revisions.compare` a revision's findings with the archived ones of
    the one before."""
    prev = previous_check(store, project_id, revision)
    if prev is None:
        return compare(None, current)
    return compare(prev.findings, current, previous_revision=prev.revision)
