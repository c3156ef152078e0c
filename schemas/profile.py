"""City profiles: tolerances, layer names, code lists, severity overrides and 容缺 items.

A profile is a TOML file. ``load_profile("liaocheng")`` reads the bundled one; any path to a
``.toml`` file works too, and a profile may name a ``base`` profile whose values it
overrides (tables are merged key by key).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

PROFILES_DIR = Path(__file__).parent / "profiles"

Override = Literal["error", "warning", "info", "off"]


class ProfileError(ValueError):
    """A profile value of the wrong type: every error at once, each with its place
    (``limits.max_entries``), what was expected and what was given — pydantic's wording,
    which profiles were validated with before (``tests/schemas/test_profile.py`` compares)."""

    def __init__(self, model: str, errors: list[tuple[tuple, str, str, Any]]):
        self.model, self.errors = model, errors
        lines = [f"{len(errors)} validation error{'s' if len(errors) > 1 else ''} for {model}"]
        for loc, kind, message, value in errors:
            shown = repr(value)
            shown = shown if len(shown) <= 50 else f"{shown[:25]}...{shown[-24:]}"  # pydantic cuts long ones too
            lines += [".".join(map(str, loc)), f"  {message} [type={kind}, input_value={shown}, "
                                                f"input_type={type(value).__name__}]"]
        super().__init__("\n".join(lines))


class _Model:
    """Frozen dataclasses whose fields are coerced and checked as pydantic's lax mode does
    for the types a TOML profile gives (numbers from numbers, bools and numeric strings;
    strings only from strings; lists, pairs, tables): no pydantic on ``duoce check``'s path."""

    def __post_init__(self) -> None:
        errors: list = []
        for name, tp in _hints(type(self)).items():
            value = getattr(self, name)
            converted = _convert(tp, value, (name,), errors)
            if converted is not value:
                object.__setattr__(self, name, converted)
        if errors:
            raise ProfileError(type(self).__name__, errors)

    @classmethod
    def model_validate(cls, data: Any):
        """``cls`` from a mapping (unknown keys ignored, as before); :class:`ProfileError`
        lists every error."""
        errors: list = []
        built = _build(cls, data, (), errors)
        if errors:
            raise ProfileError(cls.__name__, errors)
        return built

    def model_copy(self, *, update: dict[str, Any] | None = None, deep: bool = False):
        """A copy with ``update``'s fields replaced (the values checked); ``deep``: nothing shared."""
        base = copy.deepcopy(self) if deep else self
        return dataclasses.replace(base, **(update or {})) if update or not deep else base


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        hints = typing.get_type_hints(cls)
        _HINTS[cls] = {f.name: hints[f.name] for f in dataclasses.fields(cls)}
    return _HINTS[cls]


_MISSING = object()


def _build(cls: type, data: Any, loc: tuple, errors: list):
    if isinstance(data, cls):
        return data
    if not isinstance(data, dict):
        errors.append((loc, "model_type", f"Input should be a valid dictionary or instance of {cls.__name__}", data))
        return _MISSING
    before, kwargs = len(errors), {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            kwargs[f.name] = _convert(_hints(cls)[f.name], data[f.name], (*loc, f.name), errors)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            errors.append(((*loc, f.name), "missing", "Field required", data))
    return cls(**kwargs) if len(errors) == before else _MISSING


def _convert(tp: Any, value: Any, loc: tuple, errors: list) -> Any:  # noqa: PLR0911, PLR0912 — one branch per type
    """``value`` as type ``tp`` (pydantic's lax rules), or an error appended to ``errors``."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is float:
        if isinstance(value, float):
            return value
        if isinstance(value, int):  # bool too: True → 1.0
            return float(value)
        if isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                errors.append((loc, "float_parsing", "Input should be a valid number, unable to parse string as a number", value))
                return value
        errors.append((loc, "float_type", "Input should be a valid number", value))
        return value
    if tp is int:
        if isinstance(value, int):
            return int(value)
        number = value
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                try:
                    number = float(value.strip())
                except ValueError:
                    number = math.nan
                if not number.is_integer():  # "2.5", "nan", "x"
                    errors.append((loc, "int_parsing", "Input should be a valid integer, unable to parse string as an integer", value))
                    return value
        if isinstance(number, float):
            if math.isfinite(number) and number.is_integer():
                return int(number)
            kind = "int_from_float" if math.isfinite(number) else "finite_number"
            message = "got a number with a fractional part" if math.isfinite(number) else "Input should be a finite number"
            errors.append((loc, kind, message if kind == "finite_number" else f"Input should be a valid integer, {message}", value))
            return value
        errors.append((loc, "int_type", "Input should be a valid integer", value))
        return value
    if tp is str:
        if isinstance(value, str):
            return value
        errors.append((loc, "string_type", "Input should be a valid string", value))
        return value
    if origin is Literal:
        if any(value == a and type(value) is type(a) for a in args):
            return value
        names = [repr(a) for a in args]
        errors.append((loc, "literal_error", f"Input should be {', '.join(names[:-1])} or {names[-1]}", value))
        return value
    if origin is list:
        if not isinstance(value, list | tuple):
            errors.append((loc, "list_type", "Input should be a valid list", value))
            return value
        return [_convert(args[0], v, (*loc, i), errors) for i, v in enumerate(value)]
    if origin is tuple:
        if not isinstance(value, list | tuple):
            errors.append((loc, "tuple_type", "Input should be a valid tuple", value))
            return value
        if len(value) > len(args):
            errors.append((loc, "too_long", f"Tuple should have at most {len(args)} items after validation, not {len(value)}", value))
            return value
        out = tuple(_convert(t, v, (*loc, i), errors) for i, (t, v) in enumerate(zip(args, value, strict=False)))
        for i in range(len(value), len(args)):
            errors.append(((*loc, i), "missing", "Field required", value))
        return out
    if origin is dict:
        if not isinstance(value, dict):
            errors.append((loc, "dict_type", "Input should be a valid dictionary", value))
            return value
        out = {}
        for k, v in value.items():
            key = _convert(args[0], k, (*loc, k, "[key]"), errors)
            out[key] = _convert(args[1], v, (*loc, k), errors)
        return out
    if dataclasses.is_dataclass(tp):
        built = _build(tp, value, loc, errors)
        return value if built is _MISSING else built
    raise TypeError(f"no conversion for {tp!r}")  # pragma: no cover - a field of a new type


@dataclass(frozen=True, kw_only=True)
class Area(_Model):
    lon_min: float
    lon_max: float
    lat_min: float
    lat_max: float


@dataclass(frozen=True, kw_only=True)
class Tier(_Model):
    up_to: float
    share: float


@dataclass(frozen=True, kw_only=True)
class Tolerances(_Model):
    zdmj_vs_coordinate_area: float = 0.1
    jzd_table_vs_drawing: float = 0.01
    zd_vertex_vs_points: float = 0.01
    parcel_overlap: float = 0.01
    jzd_label_radius: float = 2.0
    jzgd_over: float = 0.10
    area_cap: float = 500.0
    area_tiers: list[Tier] = field(default_factory=list)
    ydmj_vs_drawing: float = 0.1
    footprint_outside_site: float = 0.05
    setback_vs_drawing: float = 0.05
    setback_below_requirement: float = 0.10
    zdmj_vs_ydmj: float = 0.1
    indicator_recompute: float = 0.01
    footprint_outside_parcel: float = 0.05
    property_vs_planning_total: float = 0.03
    presale_ratio: float = 0.03
    min_floor_height: float = 2.20
    unit_area_sum: float = 0.01  # PRP-001
    apportion_coefficient: float = 1e-6  # PRP-002
    apportion_area: float = 0.01  # PRP-003
    building_sum_per_unit: float = 0.005  # PRP-004/005: per unit …
    building_sum_base: float = 0.01  # … plus this
    unit_overlap: float = 0.01  # PRP-008 m²
    outline_snap: float = 0.001  # DXF-009 m: ends of outline pieces this close meet


@dataclass(frozen=True, kw_only=True)
class Limits(_Model):
    """What one package may hold (PKG-007 and the findings named per field), and the
    budgets a check of any package within these limits keeps on a 2-core machine
    (``budget_*``: stated here, asserted by tests/corpus, measured by
    benchmarks/bench_budgets.py)."""

    max_total_bytes: int = 2_000_000_000  # PKG-007: all files together, unpacked
    max_entries: int = 20_000  # PKG-007: files in the package (and in report.xlsx)
    max_ratio: float = 200.0  # PKG-007: compression ratio
    max_member_bytes: int = 1_000_000_000  # PKG-007: one file, unpacked
    max_sheet_cells: int = 2_000_000  # PKG-008: the rectangle calamine allocates (worst check 1.6 GB)
    # DXF-001 beyond either: records ezdxf would build (entities, blocks, tables, objects) and
    # points (group codes 10/20, 11/21) of one DXF; ezdxf holds 4 M points in ~1.9 GB
    max_entities: int = 500_000
    max_vertices: int = 2_000_000
    max_label_chars: int = 1_000  # DXF-005: a drawing label (TEXT, MTEXT, attribute) longer is refused
    max_path_bytes: int = 1_000  # PKG-006: a path in the package, UTF-8 bytes (the store adds its own)
    max_name_bytes: int = 255  # PKG-006: one file or folder name (bytes of UTF-8, NAME_MAX)
    max_findings_per_code: int = 200  # beyond, one summary finding says how many more
    budget_memory_bytes: int = 2_000_000_000  # address space a check stays within (RLIMIT_AS)
    budget_seconds: float = 600.0  # wall time a check of a package at the limits stays within


@dataclass(frozen=True, kw_only=True)
class Tolerated(_Model):
    codes: list[str] = field(default_factory=list)
    deadline_working_days: int = 5


@dataclass(frozen=True, kw_only=True)
class Profile(_Model):
    name: str
    title: str = ""
    epsg: int = 4548
    area: Area
    counties: dict[str, str] = field(default_factory=dict)
    tolerances: Tolerances = field(default_factory=Tolerances)
    area_class: dict[str, tuple[float, float]]
    boundary_class: dict[str, float]
    limits: Limits = field(default_factory=Limits)
    layers: dict[str, str] = field(default_factory=dict)
    code_lists: dict[str, dict[str, str]] = field(default_factory=dict)
    severity: dict[str, Override] = field(default_factory=dict)
    tolerated: Tolerated = field(default_factory=Tolerated)

    def layer(self, standard: str) -> str:
        """The layer name this city uses for a standard layer (YDHX, FC_H …)."""
        return self.layers.get(standard, standard)

    def area_limit(self, area: float, grade: str | None) -> float:
        """GB/T 17986.1 area limit for an area ``area`` at precision class ``grade``."""
        a, b = self.area_class.get(grade or "二级", self.area_class["二级"])
        s = max(float(area), 0.0)
        return a * math.sqrt(s) + b * s

    def boundary_limit(self, grade: str | None) -> float:
        return self.boundary_class.get(grade or "二级", self.boundary_class["二级"])

    def area_tier_tolerance(self, permitted: float) -> float:
        """PLN-002: how far JRMJ / ZJZMJ may exceed a permitted value."""
        share = next(
            (t.share for t in self.tolerances.area_tiers if permitted <= t.up_to),
            self.tolerances.area_tiers[-1].share if self.tolerances.area_tiers else 0.0,
        )
        return min(permitted * share, self.tolerances.area_cap)


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def profile_data(name_or_path: str | Path) -> dict:
    """A profile's TOML as a dict, its ``base`` merged in (by name: a bundled profile)."""
    p = Path(name_or_path)
    if p.suffix != ".toml":
        p = PROFILES_DIR / f"{name_or_path}.toml"
    data = tomllib.loads(p.read_text(encoding="utf-8"))
    base = data.pop("base", None)
    return _merge(profile_data(base), data) if base else data


def load_profile(name_or_path: str | Path = "liaocheng") -> Profile:
    """Load a bundled profile by name or a profile file by path."""
    data = profile_data(name_or_path)
    data["counties"] = {str(k): v for k, v in data.get("counties", {}).items()}
    return Profile.model_validate(data)
