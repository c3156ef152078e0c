"""Run every check over a parsed package: the one pure entry point behind pre-check,
submission and rerun. Opens no file and knows no flow."""

from __future__ import annotations

import datetime as dt
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

from schemas.catalogue import CATALOGUE, RULESET_VERSION, make
from schemas.context import Context
from schemas.crs import Zone, check_crs
from schemas.drawings import FloorPlan, Geometry, drawing_geometry, floor_geometry, lost_entities
from schemas.envelope import check_envelope
from schemas.findings import Finding, Place, count_by_severity
from schemas.labels import refuse_long_labels
from schemas.package import Package
from schemas.profile import Profile
from schemas.rules import cadastral, cross, planning
from schemas.rules import property as property_rules  # not `property`: the builtin is used here
from schemas.tables import Tables, type_tables
from schemas.verdict import Verdict, decide

log = logging.getLogger(__name__)

Rule = Callable[[Context], list[Finding]]
RuleRun = tuple[list[Finding], str | None]  # a rule's findings, or the traceback that stopped it
CHINA_TZ = dt.timezone(dt.timedelta(hours=8))
DOMAIN_ORDER = ["package", "report", "drawing", "crs", "cadastral", "property", "planning", "cross"]


# the rule modules in the order their rules run
RULE_MODULES = (cadastral, property_rules, planning, cross)


def rule_modules() -> list[Rule]:
    """The survey rules (CAD, PRP, PLN, XSV), each a pure function of the context: every
    rule each module declares (its ``RULES``), module by module."""
    return [rule for module in RULE_MODULES for rule in module.RULES]


@dataclass
class CheckResult:
    package: Package
    tables: Tables
    geometry: Geometry
    zone: Zone
    profile: Profile
    findings: list[Finding]
    verdict: Verdict
    checked_at: dt.datetime
    ruleset_version: str = RULESET_VERSION
    internal_errors: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return count_by_severity(self.findings)


def run_rule(rule: Rule, ctx: Context) -> RuleRun:
    """One rule; its own bug becomes an internal error, never a lost check."""
    try:
        return rule(ctx), None
    except Exception:  # a rule's own bug must not hide the other rules' findings
        name = f"{getattr(rule, '__module__', '')}.{getattr(rule, '__name__', rule)}"
        log.exception("rule %s failed", name)
        return [], f"{name}: {traceback.format_exc(limit=3)}"


def run_rules(rules: list[Rule], ctx: Context) -> list[RuleRun]:
    """The rules one after the other, in this process."""
    return [run_rule(rule, ctx) for rule in rules]


@dataclass
class Steps:
    """The work left once a package is open, step by step, as :func:`run_steps` runs them.

    - :meth:`type` needs the report only; :meth:`settle` the drawings' readers;
    - :meth:`judge` needs both (and may replace frames of the tables: the CRS step);
    - :meth:`floors` needs the drawings only;
    - the rules need all: the context with the floor plans' model.
    """

    pkg: Package
    profile: Profile
    rules: list[Rule]

    def type(self) -> tuple[Tables, list[Finding]]:
        """The report's tables typed."""
        # without a report at all PKG-008 has said so; do not add an RPT-001 per sheet
        unreadable = {f.object.sheet.strip() for f in self.pkg.findings if f.code == "PKG-008" and f.object.sheet}
        return type_tables(
            self.pkg.tables, self.profile, report_present=self.pkg.report_form is not None, unreadable=unreadable
        )

    def settle(self) -> list[Finding]:
        """The drawings, read now (the package's deferred step: the report is typed first);
        a label longer than the profile's limit is refused here (DXF-005) and read no further."""
        settled = self.pkg.settle()
        return settled + refuse_long_labels(self.pkg, self.profile.limits.max_label_chars)

    def judge(self, tables: Tables) -> tuple[Zone, Geometry, list[Finding]]:
        """The envelope, the CRS, and the site and parcel models (no floor plans yet)."""
        findings = check_envelope(self.pkg, tables)
        zone, found = check_crs(tables, self.pkg.drawings, self.profile)
        findings += found
        geometry, found = drawing_geometry(self.pkg, self.profile, floors=False)
        return zone, geometry, findings + found

    def floors(self) -> tuple[dict[str, FloorPlan], list[Finding]]:
        """The floor plans' model."""
        return floor_geometry(self.pkg, self.profile)

    def context(self, tables: Tables, zone: Zone, geometry: Geometry) -> Context:
        return Context(self.pkg, tables, geometry, zone, self.profile)


@dataclass
class Outcome:
    """What the steps gave: ``findings`` in the order type, settle, judge, floors; ``runs``
    each rule's, in the order of the rules."""

    tables: Tables
    zone: Zone
    geometry: Geometry
    findings: list[Finding]
    runs: list[RuleRun]


def run_steps(steps: Steps) -> Outcome:
    """Every step in this process, in order: the report typed, then the drawings read and judged."""
    tables, typed = steps.type()
    settled = steps.settle()
    zone, geometry, judged = steps.judge(tables)
    geometry.floors, floored = steps.floors()
    runs = run_rules(steps.rules, steps.context(tables, zone, geometry))
    return Outcome(tables, zone, geometry, typed + settled + judged + floored, runs)


def apply_profile(findings: list[Finding], profile: Profile) -> list[Finding]:
    """Per-code severity overrides: error / warning / info, or off (dropped)."""
    out = []
    for f in findings:
        override = profile.severity.get(f.code)
        if override == "off":
            continue
        out.append(f.with_severity(override) if override and override != f.severity else f)
    return out


def cap_findings(findings: list[Finding], per_code: int) -> list[Finding]:
    """At most ``per_code`` findings of each code (the first, in the order given), and for
    each code over it one PKG-011 (info: it never changes the verdict, which the findings
    listed already decide) saying how many more were not listed. One pass, linear."""
    if per_code <= 0 or len(findings) <= per_code:
        return findings
    seen: dict[str, int] = {}
    kept: list[Finding] = []
    for f in findings:
        n = seen[f.code] = seen.get(f.code, 0) + 1
        if n <= per_code:
            kept.append(f)
    for code, n in seen.items():
        if n > per_code:
            title = CATALOGUE[code].title if code in CATALOGUE else code
            kept.append(make("PKG-011", Place(key=code), of=code, title=title, count=n - per_code, limit=per_code))
    return kept


def sort_key(f: Finding) -> tuple:
    o = f.object
    return (
        DOMAIN_ORDER.index(f.domain) if f.domain in DOMAIN_ORDER else 99,
        f.code,
        o.file or "",
        o.sheet or "",
        o.row if o.row is not None else -1,
        o.layer or "",
        o.handle or "",
    )


def run_checks(pkg: Package, profile: Profile, now: dt.datetime | None = None) -> CheckResult:
    """Every rule over one parsed package; a failing rule never stops the others."""
    now = now or dt.datetime.now(CHINA_TZ)
    findings: list[Finding] = list(pkg.findings)
    if pkg.root is None:  # nothing could be opened: PKG-001 says it all
        findings += pkg.settle()
        zone = Zone(None, profile.epsg, 0, 0)
        findings = cap_findings(apply_profile(findings, profile), profile.limits.max_findings_per_code)
        verdict = decide(findings, profile, now.date())
        return CheckResult(pkg, Tables(), Geometry(), zone, profile, findings, verdict, now)
    done = run_steps(Steps(pkg, profile, rule_modules()))
    findings += done.findings
    errors: list[str] = []
    for found, error in done.runs:
        findings += found
        if error is not None:
            errors.append(error)
    findings = sorted(apply_profile(lost_entities(findings, pkg, profile), profile), key=sort_key)
    findings = cap_findings(findings, profile.limits.max_findings_per_code)
    verdict = decide(findings, profile, now.date())
    return CheckResult(
        pkg, done.tables, done.geometry, done.zone, profile, findings, verdict, now, internal_errors=errors
    )
