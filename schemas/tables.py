"""Report tables: raw text cells → typed frames, judged by pandera schemas (RPT-001..009).

The report parser hands over text (``str`` or ``None``) so nothing is lost by a reader's
guess. Here each cell is read as its field's type — numbers with full-width digits,
surrounding spaces or thousands separators, dates as date text, code-list values as code,
name or both — and the typed frames are validated by one pandera schema per sheet, built
from ``schemas.fields``. Failure cases map to RPT codes with sheet, spreadsheet row and field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from schemas.catalogue import make
from schemas.fields import CODE_LISTS, SHEETS, SHEETS_BY_KEY, Field, Sheet
from schemas.findings import Finding, Place
from schemas.profile import Profile

NUMERIC_KINDS = {"int", "area", "length", "coord", "ratio", "number"}
DECIMALS = {"area": 2, "length": 2, "coord": 3}
KIND_NAMES = {
    "int": "整数",
    "area": "面积（数值）",
    "length": "长度（数值）",
    "coord": "坐标（数值）",
    "ratio": "系数（数值）",
    "number": "数值",
    "date": "日期（YYYY-MM-DD）",
}
# how each sheet's rows are named in findings (the `key` of the place)
ROW_KEYS: dict[str, tuple[str, ...]] = {
    "parcel": ("ZDDM",),
    "boundary_point": ("ZDDM", "JZDH"),
    "boundary_line": ("ZDDM", "QSJZDH", "ZZJZDH"),
    "building": ("ZRZH",),
    "floor": ("ZRZH", "SJC"),
    "unit": ("BDCDYH",),
    "shared_part": ("ZRZH", "SJC", "MC"),
    "planning_indicator": ("ZBDM", "FW"),
    "setback": ("ZRZH", "DX"),
}

_FULLWIDTH = str.maketrans("０１２３４５６７８９．－＋，　", "0123456789.-+, ")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]00:00(?::00)?)?$")


@dataclass
class Tables:
    """Typed report tables. Frames are indexed by spreadsheet row (``_row``)."""

    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    project: dict[str, Any] = field(default_factory=dict)
    project_rows: dict[str, int] = field(default_factory=dict)
    present: set[str] = field(default_factory=set)  # sheet keys present in the report

    def __getitem__(self, key: str) -> pd.DataFrame:
        return self.frames[key]

    def get(self, key: str) -> pd.DataFrame:
        """A sheet's typed frame, or an empty frame with its columns when it is absent."""
        if key in self.frames:
            return self.frames[key]
        sheet = SHEETS_BY_KEY[key]
        return _empty_typed(sheet)

    def key_of(self, sheet_key: str, row: int) -> str | None:
        df = self.frames.get(sheet_key)
        if df is None or row not in df.index:
            return None
        return _row_key(sheet_key, df.loc[row])


# ---------------------------------------------------------------- cell readers (vectorised)


def clean_text(s: pd.Series) -> pd.Series:
    """Strip white space (ideographic space included); empty → missing. Object dtype."""
    out = s.astype(object).where(s.notna(), None)
    text = out.map(lambda v: v if v is None else str(v).replace("\u3000", " ").strip())
    return text.where(text != "", None)


def read_numbers(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(values, unreadable) — full-width digits, spaces and thousands separators accepted.

    Plain numbers (nearly every cell) are parsed in one pass; only the rest is normalised.
    """
    text = clean_text(s)
    values = pd.to_numeric(text, errors="coerce").astype("float64")
    retry = text.notna() & values.isna()
    if retry.any():
        odd = text[retry].map(lambda v: v.translate(_FULLWIDTH).replace(" ", ""))
        odd = odd.map(lambda v: v.replace(",", "") if _THOUSANDS.match(v) else v)
        values.loc[retry] = pd.to_numeric(odd, errors="coerce").astype("float64")
    values = values.where(np.isfinite(values))
    bad = text.notna() & values.isna()
    return values, bad


def count_decimals(s: pd.Series) -> pd.Series:
    text = clean_text(s).astype("string").str.translate(_FULLWIDTH)
    frac = text.str.extract(r"\.(\d+)$", expand=False)
    return frac.str.rstrip("0").str.len().fillna(0).astype(int)


def read_dates(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    text = clean_text(s).astype("string").str.translate(_FULLWIDTH)
    parts = text.str.extract(_DATE.pattern)
    iso = parts[0] + "-" + parts[1].str.zfill(2) + "-" + parts[2].str.zfill(2)
    values = pd.to_datetime(iso, format="%Y-%m-%d", errors="coerce")
    bad = text.notna() & values.isna()
    return values, bad


def code_spellings(codelist: str, profile: Profile | None) -> dict[str, str]:
    """Every accepted spelling of a code-list value → its code: `3`, `钢筋混凝土结构`, `3 钢筋混凝土结构`."""
    entries = dict(CODE_LISTS.get(codelist, {}))
    if profile is not None:
        entries.update(profile.code_lists.get(codelist, {}))
    out: dict[str, str] = {}
    for code, name in entries.items():
        for spelled in (code, name, f"{code} {name}", f"{code}{name}", f"{code}-{name}"):
            out.setdefault(spelled, code)
            out.setdefault(spelled.upper(), code)
    return out


def read_codes(s: pd.Series, codelist: str, profile: Profile | None) -> tuple[pd.Series, pd.Series]:
    text = clean_text(s).astype("string").str.translate(_FULLWIDTH)
    text = text.str.replace(r"\s+", " ", regex=True)
    spell = code_spellings(codelist, profile)
    values = text.map(spell, na_action="ignore")
    values = values.where(values.notna(), text.str.upper().map(spell, na_action="ignore"))
    bad = text.notna() & values.isna()
    return values.astype("string"), bad


# ---------------------------------------------------------------- typing one sheet


def _row_key(sheet_key: str, row: pd.Series) -> str | None:
    cols = ROW_KEYS.get(sheet_key, ())
    vals = [row.get(c) for c in cols if c in row.index]
    vals = [str(int(v)) if isinstance(v, float) and v == v and v.is_integer() else v for v in vals]
    vals = [str(v) for v in vals if v is not None and not (isinstance(v, float) and v != v) and v is not pd.NA]
    return "/".join(vals) if vals else None


def _empty_typed(sheet: Sheet) -> pd.DataFrame:
    cols: dict[str, pd.Series] = {}
    for f in sheet.fields:
        if f.kind in NUMERIC_KINDS:
            cols[f.code] = pd.Series(dtype="float64")
        elif f.kind == "date":
            cols[f.code] = pd.Series(dtype="datetime64[ns]")
        else:
            cols[f.code] = pd.Series(dtype="string")
    df = pd.DataFrame(cols)
    df.index.name = "_row"
    return df


def _type_column(
    f: Field, raw: pd.Series, profile: Profile | None
) -> tuple[pd.Series, pd.Series, pd.Series | None]:
    """(typed values, unreadable mask, too-many-decimals mask or None)."""
    if f.kind in NUMERIC_KINDS:
        values, bad = read_numbers(raw)
        if f.kind == "int":
            frac = values.notna() & (values != values.round())
            bad = bad | frac
            values = values.where(~frac)
        decimals = None
        if f.kind in DECIMALS:
            decimals = values.notna() & (count_decimals(raw) > DECIMALS[f.kind])
        return values, bad, decimals
    if f.kind == "date":
        values, bad = read_dates(raw)
        return values, bad, None
    if f.kind == "enum" and f.codelist:
        values, bad = read_codes(raw, f.codelist, profile)
        return values, bad, None
    return clean_text(raw).astype("string"), pd.Series(False, index=raw.index), None


def _place(sheet: Sheet, row: int, f: str | None, key: str | None) -> Place:
    return Place(sheet=sheet.name, row=int(row), key=key, field=f)


def _pandera_schema(sheet: Sheet, columns: set[str], profile: Profile | None) -> pa.DataFrameSchema:
    cols: dict[str, pa.Column] = {}
    for f in sheet.fields:
        checks: list[pa.Check] = []
        if f.kind in ("area", "length"):
            checks.append(pa.Check.gt(0))
        if f.kind == "int" and f.minimum is not None:
            checks.append(pa.Check.ge(f.minimum))
        if f.kind == "ratio":
            checks.append(pa.Check.ge(0))
        if f.kind == "int" and f.code == "SJC":
            checks.append(pa.Check.ne(0))
        if f.kind == "number" and f.code in ("GHZ",):
            checks.append(pa.Check.ge(0))
        cols[f.code] = pa.Column(
            None, checks=checks, nullable=not f.required, required=f.required, coerce=False
        )
    return pa.DataFrameSchema(cols, strict=False)


_BOUND_CHECKS = (
    ("greater_than_or_equal_to(", "≥ "),
    ("greater_than(", "> "),
    ("not_equal_to(", "≠ "),
)


def _bound_text(check: str) -> str | None:
    """pandera's built-in check names → a readable bound (``greater_than(0)`` → ``> 0``)."""
    for prefix, symbol in _BOUND_CHECKS:
        if check.startswith(prefix):
            return symbol + check[len(prefix) : -1]
    return None


def type_sheet(
    sheet: Sheet, raw: pd.DataFrame, profile: Profile | None = None
) -> tuple[pd.DataFrame, list[Finding]]:
    """Read a raw sheet into typed columns and validate it (RPT-002..008).

    Returns the typed frame (indexed by spreadsheet row; unreadable cells are missing)
    and the findings.
    """
    findings: list[Finding] = []
    guess = raw.attrs.get("header_guess_row")
    missing = [f.code for f in sheet.fields if f.required and f.code not in raw.columns]
    if isinstance(guess, int) and guess > 1 and missing:
        # row 1 is a title or blank, the header lies lower: one finding, not one per column
        findings.append(
            make(
                "RPT-002",
                Place(sheet=sheet.name, row=1),
                sheet=sheet.name,
                column=f"{'、'.join(missing)}（表头应在第 1 行，第 {guess} 行像是表头）",
            )
        )
        typed = _empty_typed(sheet)
        typed.attrs["header_misplaced"] = True  # its rows cannot be read: treat the sheet as absent
        return typed, findings
    rows = raw["_row"].astype(int) if "_row" in raw.columns else pd.RangeIndex(2, len(raw) + 2)
    raw = raw.set_axis(pd.Index(rows), axis=0)
    typed = pd.DataFrame(index=raw.index)
    unreadable: dict[str, pd.Series] = {}

    def key_at(row: int) -> str | None:  # only for rows that have a finding
        return _row_key(sheet.key, typed.loc[row]) if row in typed.index else None

    too_precise: dict[str, pd.Series] = {}
    for f in sheet.fields:
        if f.code not in raw.columns:
            continue
        values, bad, decimals = _type_column(f, raw[f.code], profile)
        typed[f.code] = values
        unreadable[f.code] = bad
        if decimals is not None:
            too_precise[f.code] = decimals

    for code, decimals in too_precise.items():  # after typing: a place names its row's key
        for row in decimals.index[decimals.to_numpy()]:
            findings.append(
                make(
                    "RPT-008",
                    _place(sheet, row, code, key_at(row)),
                    sheet=sheet.name,
                    column=code,
                    value=raw.at[row, code],
                    decimals=DECIMALS[sheet.field(code).kind],
                )
            )

    for code, bad in unreadable.items():
        f = sheet.field(code)
        for row in bad.index[bad.to_numpy()]:
            code_ = "RPT-005" if f.kind == "enum" else "RPT-003"
            findings.append(
                make(
                    code_,
                    _place(sheet, row, code, key_at(row)),
                    sheet=sheet.name,
                    column=code,
                    value=raw.at[row, code],
                    kind=KIND_NAMES.get(f.kind, f.kind),
                )
            )

    schema = _pandera_schema(sheet, set(typed.columns), profile)
    try:
        schema.validate(typed, lazy=True)
    except SchemaErrors as err:
        findings.extend(_map_failures(sheet, err.failure_cases, raw, unreadable, key_at))
    except (TypeError, ValueError) as err:  # pandera can raise plain errors on odd dtypes
        findings.append(make("RPT-003", Place(sheet=sheet.name), sheet=sheet.name, column="?", value=str(err), kind="?"))

    for cols in sheet.keys:
        if not set(cols) <= set(typed.columns):
            continue
        sub = typed[list(cols)]
        dup = sub.notna().all(axis=1) & sub.duplicated(keep="first")
        for row in dup.index[dup.to_numpy()]:
            findings.append(
                make(
                    "RPT-006",
                    _place(sheet, row, "+".join(cols), key_at(row)),
                    sheet=sheet.name,
                    column="+".join(cols),
                    value="/".join(str(v) for v in sub.loc[row]),
                )
            )

    # add absent optional columns so rules can rely on every field existing
    for f in sheet.fields:
        if f.code not in typed.columns:
            typed[f.code] = _empty_typed(sheet)[f.code].reindex(typed.index)
    return typed[[f.code for f in sheet.fields]], findings


def _map_failures(sheet, cases: pd.DataFrame, raw, unreadable, key_at) -> list[Finding]:
    out: list[Finding] = []
    for case in cases.itertuples(index=False):
        check = str(case.check)
        column = case.column
        if check == "column_in_dataframe":
            out.append(
                make(
                    "RPT-002",
                    Place(sheet=sheet.name, field=str(case.failure_case)),
                    sheet=sheet.name,
                    column=f"{case.failure_case}（{sheet.field(str(case.failure_case)).name}）",
                )
            )
            continue
        if case.index is None or column is None:
            continue
        row = int(case.index)
        if bool(unreadable.get(column, pd.Series(dtype=bool)).get(row, False)):
            continue  # already RPT-003 / RPT-005: one finding per cell
        place = _place(sheet, row, column, key_at(row))
        if check == "not_nullable":
            out.append(make("RPT-004", place, sheet=sheet.name, column=column))
        elif (bound := _bound_text(check)) is not None:
            out.append(
                make(
                    "RPT-007",
                    place,
                    sheet=sheet.name,
                    column=column,
                    value=raw.at[row, column] if column in raw.columns else case.failure_case,
                    bound=bound,
                )
            )
    return out


# ---------------------------------------------------------------- the project sheet (long form)


def type_project(raw: pd.DataFrame, profile: Profile | None) -> tuple[dict[str, Any], dict[str, int], list[Finding]]:
    sheet = SHEETS_BY_KEY["project"]
    findings: list[Finding] = []
    raw = raw.dropna(subset=["field"]) if "field" in raw.columns else raw.iloc[0:0]
    dup = raw["field"].duplicated(keep="first") if len(raw) else pd.Series(dtype=bool)
    for i in dup.index[dup.to_numpy()]:
        r = raw.loc[i]
        findings.append(make("RPT-006", _place(sheet, r["_row"], r["field"], r["field"]), sheet=sheet.name, column="字段", value=r["field"]))
    raw = raw.loc[~dup] if len(raw) else raw
    wide = pd.DataFrame({r["field"]: [r["value"]] for _, r in raw.iterrows()})
    rows = {r["field"]: int(r["_row"]) for _, r in raw.iterrows()}
    values: dict[str, Any] = {}
    for f in sheet.fields:
        if f.code not in wide.columns:
            if f.required:
                findings.append(
                    make("RPT-002", Place(sheet=sheet.name, field=f.code), sheet=sheet.name, column=f"{f.code}（{f.name}）")
                )
            values[f.code] = None
            continue
        row = rows[f.code]
        typed, bad, _ = _type_column(f, wide[f.code], profile)
        v = typed.iloc[0]
        if bool(bad.iloc[0]):
            code_ = "RPT-005" if f.kind == "enum" else "RPT-003"
            findings.append(
                make(code_, _place(sheet, row, f.code, f.code), sheet=sheet.name, row=row, column=f.code, value=wide[f.code].iloc[0], kind=KIND_NAMES.get(f.kind, f.kind))
            )
            v = None
        elif v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
            v = None
            if f.required:
                findings.append(make("RPT-004", _place(sheet, row, f.code, f.code), sheet=sheet.name, row=row, column=f.code))
        values[f.code] = v.date() if isinstance(v, pd.Timestamp) else (str(v) if v is not None and f.kind != "date" else v)
    return values, rows, findings


# ---------------------------------------------------------------- references (RPT-009)


def check_references(tables: Tables) -> list[Finding]:
    """Keys that point nowhere: unit/floor/shared part/setback/building-scope indicator → 自然幢;
    building/point/edge → 宗地; a unit's or shared part's SJC → its building's 层 rows."""
    findings: list[Finding] = []
    for sheet in SHEETS:
        df = tables.frames.get(sheet.key)
        if df is None or not len(df):
            continue
        for column, target_key, target_col in sheet.refs:
            if target_key not in tables.present:
                continue  # RPT-001 already says the target sheet is missing
            target = tables.get(target_key)[target_col].dropna()
            vals = df[column]
            bad = vals.notna() & ~vals.isin(set(target))
            findings.extend(_ref_findings(tables, sheet, df, column, bad, SHEETS_BY_KEY[target_key].name))
    ind = tables.frames.get("planning_indicator")
    if ind is not None and len(ind) and "building" in tables.present:
        scope = ind["FW"]
        bad = scope.notna() & (scope != "项目") & ~scope.isin(set(tables.get("building")["ZRZH"].dropna()))
        findings.extend(_ref_findings(tables, SHEETS_BY_KEY["planning_indicator"], ind, "FW", bad, "自然幢"))
    if "floor" in tables.present:
        floors = tables.get("floor")
        known = set(zip(floors["ZRZH"], floors["SJC"], strict=True))
        for key in ("unit", "shared_part"):
            df = tables.frames.get(key)
            if df is None or not len(df):
                continue
            pairs = pd.Series(list(zip(df["ZRZH"], df["SJC"], strict=True)), index=df.index)
            in_building = df["ZRZH"].isin(set(floors["ZRZH"]).union(set(tables.get("building")["ZRZH"])))
            bad = df["SJC"].notna() & in_building & ~pairs.isin(known)
            findings.extend(_ref_findings(tables, SHEETS_BY_KEY[key], df, "SJC", bad, "层"))
    return findings


def _ref_findings(tables, sheet, df, column, bad, target_name) -> list[Finding]:
    out = []
    for row in bad.index[bad.to_numpy()]:
        v = df.at[row, column]
        v = int(v) if isinstance(v, float) and v.is_integer() else v
        out.append(
            make(
                "RPT-009",
                _place(sheet, row, column, tables.key_of(sheet.key, row)),
                sheet=sheet.name,
                column=column,
                value=v,
                target=target_name,
            )
        )
    return out


# ---------------------------------------------------------------- all sheets


def type_tables(
    raw_tables: dict[str, pd.DataFrame],
    profile: Profile | None = None,
    *,
    report_present: bool = True,
    unreadable: frozenset[str] | set[str] = frozenset(),
) -> tuple[Tables, list[Finding]]:
    """Type and validate every sheet of the report (RPT-001..009).

    With ``report_present=False`` (no report file at all: PKG-008) missing sheets are not
    reported one by one; nor are the sheets in ``unreadable`` (PKG-008 said each).
    A sheet whose rows cannot be read (header not in row 1) is not ``present``: the rules
    that need it skip it, as for a missing sheet.
    """
    tables = Tables()
    findings: list[Finding] = []
    for sheet in SHEETS:
        raw = raw_tables.get(sheet.key)
        if raw is None:
            if sheet.required and report_present and sheet.name not in unreadable:
                findings.append(make("RPT-001", Place(sheet=sheet.name), sheet=sheet.name))
            continue
        if sheet.long_form:
            tables.project, tables.project_rows, found = type_project(raw, profile)
            tables.present.add(sheet.key)
        else:
            typed, found = type_sheet(sheet, raw, profile)
            if not typed.attrs.get("header_misplaced"):
                tables.frames[sheet.key] = typed
                tables.present.add(sheet.key)
        findings.extend(found)
    findings.extend(check_references(tables))
    return tables, findings
