"""Revisions put in a store for the case tests (``duoce case``, the case flows): a
catalogue row and the findings.json archived with it, no package checked."""

from __future__ import annotations

import json

from storage.store import Store
from tests.cases.make import CASE, FIRM


def store_revision(
    store: Store,
    n: int,
    verdict: str,
    findings: list[dict],
    deadline: str | None,
    *,
    counts: dict[str, int],
    submitted_at: str,
) -> None:
    """Record revision ``n`` of project :data:`CASE` (package ``f"{n:x}" * 64``, the firm
    :data:`FIRM`) and publish its archive product holding only its findings.json (with
    the 容缺 ``deadline``, statutory, when one is given)."""
    sub = store.catalogue.record_submission(
        CASE, f"{n:x}" * 64, "1.0.0", "liaocheng", verdict, counts, FIRM, submitted_at
    )
    doc = {"verdict": verdict, "findings": findings}
    if deadline:
        doc |= {"deadline": deadline, "deadline_basis": "statutory"}
    store.publish(
        "archive",
        CASE,
        sub.revision,
        lambda folder: (folder / "findings.json").write_text(json.dumps(doc), encoding="utf-8"),
    )
