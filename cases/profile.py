"""The city profile's ``[case]`` table (spec/case.md, Liaocheng defaults).

``[case]`` names the lead office, the departments asked for an opinion, which department
records the archive and the registration stage, the switch that refuses registration while
a 容缺 item is open; ``[case.limits]`` the limit of each stage in working days,
``[case.green_limits]`` the shorter ones of the 绿色通道, ``[case.surveys]`` which finding
domains are each department's own survey (where it may accept an exception), ``[case.names]``
the organisations' Chinese names.

:func:`case_rules` builds the rules from profile data (pure); :func:`load_case_rules` reads
a bundled profile by name or a ``.toml`` path, following ``base`` as
:func:`schemas.profile.load_profile` does. A profile without ``[case]`` gets the Liaocheng
defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemas.profile import profile_data

__all__ = ["DEFAULT_LIMITS", "STAGES", "CaseRules", "case_rules", "load_case_rules"]

# the stages in order, and ``total`` (accepted → registered)
STAGES: tuple[str, ...] = (
    "dispatched",
    "inspected",
    "opinions",
    "concluded",
    "archived",
    "registered",
)
DEFAULT_LIMITS: dict[str, int] = {
    "dispatched": 1,
    "inspected": 1,
    "opinions": 5,
    "concluded": 1,
    "archived": 2,
    "registered": 1,
    "total": 10,
}
DEFAULT_NAMES: dict[str, str] = {
    "approval": "行政审批服务局",
    "planning": "自然资源和规划局（规划）",
    "housing": "住房和城乡建设局（房产）",
    "registration": "不动产登记中心",
    "archive": "城建档案馆",
}


@dataclass(frozen=True)
class CaseRules:
    """What the profile fixes about a case."""

    lead: str = "approval"
    departments: tuple[str, ...] = ("planning", "housing", "registration", "archive")
    archive: str = "archive"
    registration: str = "registration"
    block_registration_on_open_items: bool = True
    limits: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    green_limits: Mapping[str, int] = field(default_factory=dict)
    surveys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    names: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_NAMES))

    def limit(self, stage: str, green: bool = False) -> int:
        """A stage's limit in working days (the green channel's where it has one)."""
        if green and stage in self.green_limits:
            return int(self.green_limits[stage])
        return int(self.limits[stage])

    def name(self, organisation: str) -> str:
        """The organisation's Chinese name (its key when the profile names none)."""
        return self.names.get(organisation, organisation)

    def role_of(self, organisation: str) -> str:
        """The role an organisation's people act in: ``lead`` (the lead office),
        ``department`` (one asked for opinions), else ``firm`` (a surveying firm)."""
        if organisation == self.lead:
            return "lead"
        return "department" if organisation in self.departments else "firm"

    def surveys_of(self, department: str) -> tuple[str, ...]:
        """The finding domains that are ``department``'s own survey."""
        return tuple(self.surveys.get(department, ()))


def case_rules(data: Mapping[str, Any]) -> CaseRules:
    """The rules from a profile's data (its ``case`` table; absent: the defaults).

    Raises
    ------
    ValueError
        A limit that is not a whole number ≥ 0, an unknown stage, or an archive or
        registration department that is not among the departments.
    """
    table = data.get("case", {})
    limits = {**DEFAULT_LIMITS, **dict(table.get("limits", {}))}
    green = dict(table.get("green_limits", {}))
    for name, value in {**limits, **green}.items():
        if name not in DEFAULT_LIMITS:
            raise ValueError(f"[case] unknown stage {name!r}; one of {tuple(DEFAULT_LIMITS)}")
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"[case] limit of {name!r} must be a whole number ≥ 0, not {value!r}")
    rules = CaseRules(
        lead=str(table.get("lead", "approval")),
        departments=tuple(table.get("departments", CaseRules.departments)),
        archive=str(table.get("archive", "archive")),
        registration=str(table.get("registration", "registration")),
        block_registration_on_open_items=bool(table.get("block_registration_on_open_items", True)),
        limits=limits,
        green_limits=green,
        surveys={k: tuple(v) for k, v in dict(table.get("surveys", {})).items()},
        names={**DEFAULT_NAMES, **dict(table.get("names", {}))},
    )
    for role in ("archive", "registration"):
        if getattr(rules, role) not in rules.departments:
            raise ValueError(
                f"[case] {role} = {getattr(rules, role)!r} is not among the departments"
            )
    if rules.lead in rules.departments:
        raise ValueError(f"[case] the lead {rules.lead!r} cannot also be a department")
    return rules


def load_case_rules(name_or_path: str | Path = "liaocheng") -> CaseRules:
    """The ``[case]`` rules of a bundled profile (by name) or a profile file (by path)."""
    return case_rules(profile_data(name_or_path))
