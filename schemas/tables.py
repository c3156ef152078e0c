"""Report tables: raw text cells → typed frames, judged by their fields' schemas (RPT-001..009).

The report parser hands over text (``str`` or ``None``) so nothing is lost by a reader's
guess. Here each cell is read as its field's type — numbers with full-width digits,
surrounding spaces or thousands separators, dates as date text, code-list values as code,
name or both — and the typed frames are validated against one schema per sheet, built from
``schemas.fields``: required columns present, required cells not empty, numeric bounds.
The schema is declared once, as bounds (:func:`field_bounds`); the check runs them in numpy
(:func:`validate_sheet`), and :func:`pandera_schema` states the same schema in pandera —
imported only where it is used (the tests hold the two equal; docs/decisions.md says why).
Failure cases map to RPT codes with sheet, spreadsheet row and field.
"""

from __future__ import annotations

import importlib
import operator
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from dataclasses import replace as dc_replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from schemas.catalogue import make
from schemas.fields import CODE_LISTS, SHEETS, SHEETS_BY_KEY, SHEETS_BY_NAME, Field, Sheet
from schemas.findings import Finding, Place
from schemas.profile import Profile

if TYPE_CHECKING:
    import pandera.pandas as pa


def _without_test_data_strategies() -> None:
    """Load pandera's strategy module as if hypothesis were not installed.

    pandera imports hypothesis (≈ 0.2 s) when it is present, only for the strategies that
    synthesise test data; stating a schema never uses them. Where hypothesis is already
    loaded (the tests) nothing changes.
    """
    if "hypothesis" in sys.modules or "pandera.strategies.base_strategies" in sys.modules:
        return
    sys.modules["hypothesis"] = None  # type: ignore[assignment]  # import → ImportError
    try:
        importlib.import_module("pandera.strategies.base_strategies")
    finally:
        del sys.modules["hypothesis"]


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

# the row keys of a sheet that is not there (see Tables._cached_keys)
_NO_KEYS: tuple[pd.DataFrame, pd.Series, dict[Any, str | None]] = (
    pd.DataFrame(),
    pd.Series(dtype="string"),
    {},
)
_FULLWIDTH = str.maketrans("０１２３４５６７８９．－＋，　", "0123456789.-+, ")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]00:00(?::00)?)?$")


@dataclass
class Tables:
    """Typed report tables. Frames are indexed by spreadsheet row (``_row``).

    A frame is not changed in place once typed (a step that changes one puts a new frame
    in ``frames``): the row keys of each frame are made once, for all its rows.
    """

    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    project: dict[str, Any] = field(default_factory=dict)
    project_rows: dict[str, int] = field(default_factory=dict)
    present: set[str] = field(default_factory=set)  # sheet keys present in the report
    # sheet key → field code → (its header as the workbook writes it, its column letter);
    # sheet key → the sheet's name as written (the reader's df.attrs)
    columns: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)
    sheet_names: dict[str, str] = field(default_factory=dict)
    # sheet key → (the frame the keys were made from, its row keys, row → key); a frame
    # replaced in ``frames`` (as the CRS step does) gets fresh keys
    _keys: dict[str, tuple[pd.DataFrame, pd.Series, dict[Any, str | None]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __getitem__(self, key: str) -> pd.DataFrame:
        return self.frames[key]

    def get(self, key: str) -> pd.DataFrame:
        """A sheet's typed frame, or an empty frame with its columns when it is absent."""
        if key in self.frames:
            return self.frames[key]
        sheet = SHEETS_BY_KEY[key]
        return _empty_typed(sheet)

    def row_keys(self, sheet_key: str) -> pd.Series:
        """The key of every row of a sheet (see :func:`row_keys`), made once per frame."""
        return self._cached_keys(sheet_key)[1]

    def key_of(self, sheet_key: str, row: int) -> str | None:
        """The key of one row (None for a row the sheet does not have): a dict look-up."""
        return self._cached_keys(sheet_key)[2].get(row)

    def where(self, sheet_key: str, code: str | None, row: int | None) -> tuple[str | None, str | None]:
        """(header as written, cell as Excel names it: ``户!F5``) of a field in a row, or
        (None, None) where the report does not say. A field written ``ZRZH+SJC`` or
        ``XZBZ/YZBZ`` (a key or a pair of columns) gives every header and the first cell."""
        known = self.columns.get(sheet_key)
        if not known or not code:
            return None, None
        parts = [known[c] for c in code.replace("+", "/").split("/") if c in known]
        if not parts:
            return None, None
        header = "、".join(h for h, _ in parts)
        if row is None:
            return header, None
        return header, f"{_sheet_ref(self.sheet_names.get(sheet_key, SHEETS_BY_KEY[sheet_key].name))}!{parts[0][1]}{row}"

    def place(self, sheet: Sheet, row: int | None, code: str | None, key: str | None = None, **drawing: Any) -> Place:
        """A table place with the header and cell the firm's workbook shows."""
        header, cell = self.where(sheet.key, code, row)
        return Place(
            sheet=sheet.name, row=None if row is None else int(row), key=key, field=code, header=header, cell=cell, **drawing
        )

    def locate(self, findings: list[Finding]) -> list[Finding]:
        """Findings about a report cell (sheet, row and field) given its header as written
        and its cell, in the place and at the end of the message: ``（套内建筑面积，户!H12）``.
        Findings already located, or about no cell the report has, are kept as they are."""
        out = []
        for f in findings:
            o = f.object
            sheet = SHEETS_BY_NAME.get(o.sheet) if o.sheet else None
            if sheet is None or o.cell is not None or o.row is None or not o.field:
                out.append(f)
                continue
            header, cell = self.where(sheet.key, o.field, o.row)
            if cell is None:
                out.append(f)
                continue
            out.append(
                dc_replace(f, object=dc_replace(o, header=header, cell=cell), message=f"{f.message}（{header}，{cell}）")
            )
        return out

    def _cached_keys(self, sheet_key: str) -> tuple[pd.DataFrame, pd.Series, dict[Any, str | None]]:
        df = self.frames.get(sheet_key)
        if df is None:
            return _NO_KEYS
        cached = self._keys.get(sheet_key)
        if cached is None or cached[0] is not df:
            keys = row_keys(df, sheet_key)
            cached = (df, keys, dict(zip(df.index.tolist(), _key_objects(keys), strict=True)))
            self._keys[sheet_key] = cached
        return cached


def _sheet_ref(name: str) -> str:
    """A sheet's name as a cell reference writes it: quoted (``'My sheet'!A1``) where Excel
    quotes it, i.e. unless it is letters, digits, ``_`` and CJK only."""
    if name and all(c.isalnum() or c == "_" for c in name) and not name[0].isdigit():
        return name
    return "'" + name.replace("'", "''") + "'"


# ---------------------------------------------------------------- cell readers (vectorised)


def clean_text(s: pd.Series) -> pd.Series:
    """Strip white space (ideographic space included); empty → missing. Text dtype (object
    when every cell is missing). One list pass: ~2× faster than ``Series.map``."""
    missing = s.isna().to_numpy().tolist()
    out = [
        None if gone else (str(v).replace("\u3000", " ").strip() or None)
        for v, gone in zip(s.to_numpy(dtype=object).tolist(), missing, strict=True)
    ]
    return pd.Series(out, index=s.index, dtype=object if all(missing) else "str")


def read_numbers(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(values, unreadable) — full-width digits, spaces and thousands separators accepted.

    Plain numbers (nearly every cell) are parsed in one pass; only the rest is normalised.
    """
    return _numbers(clean_text(s))


def _numbers(text: pd.Series) -> tuple[pd.Series, pd.Series]:
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
    return _decimals(clean_text(s))


def _decimals(text: pd.Series) -> pd.Series:
    """Decimals as written (``\\.(\\d+)$`` after full-width folding, trailing zeros
    ignored; 0 where there are none), in one list pass. Only text with a non-ASCII
    character is folded (every character :data:`_FULLWIDTH` folds is one)."""
    out = []
    for t in text.tolist():
        if not isinstance(t, str):
            out.append(0)
            continue
        _, dot, frac = (t if t.isascii() else t.translate(_FULLWIDTH)).rpartition(".")
        out.append(len(frac.rstrip("0")) if dot and frac.isdecimal() else 0)
    return pd.Series(out, index=text.index, dtype=int)


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


def row_keys(df: pd.DataFrame, sheet_key: str) -> pd.Series:
    """The key of every row: its ``ROW_KEYS`` values as text joined by ``/``, the missing
    ones left out; missing where all are. A whole number reads without ``.0`` (SJC 3 →
    ``3``). String dtype, on ``df``'s index; columns ``df`` lacks are left out."""
    parts = [
        _key_text(df[col]).to_numpy(dtype=object, na_value=None).tolist()
        for col in ROW_KEYS.get(sheet_key, ())
        if col in df.columns
    ]
    if not parts:
        return pd.Series(pd.NA, index=df.index, dtype="string")
    # one list pass: pandas string concatenation column by column cost several times more
    keys = ["/".join(given) if (given := [p for p in row if p is not None]) else None for row in zip(*parts, strict=True)]
    return pd.Series(keys, index=df.index, dtype="string")


def _key_part(v: Any) -> str | None:
    """One cell of a key as text (the rule :func:`_key_text` applies to whole columns)."""
    if isinstance(v, float) and v == v and v.is_integer():
        return str(int(v))
    if v is None or (isinstance(v, float) and v != v) or v is pd.NA:
        return None
    return str(v)


def _key_text(s: pd.Series) -> pd.Series:
    """A key column as text (string dtype): text as is, floats of whole numbers as integers.

    Text and float64 columns (all that typed frames hold) are converted in bulk; any other
    column, and the odd float (a fraction, infinity, beyond int64), cell by cell.
    """
    if isinstance(s.dtype, pd.StringDtype):
        return s.astype("string")
    if s.dtype != np.float64:
        return s.astype(object).map(_key_part).astype("string")
    v = s.to_numpy()
    whole = (np.trunc(v) == v) & (np.abs(v) < 2**63)  # NaN and ±inf are not
    out = pd.Series(pd.NA, index=s.index, dtype="string")
    out[whole] = v[whole].astype(np.int64).astype(str)
    rest = ~whole & ~np.isnan(v)
    if rest.any():
        out[rest] = [_key_part(x) for x in v[rest].tolist()]
    return out


def _key_objects(keys: pd.Series) -> list[str | None]:
    """Row keys as a list of ``str`` or None (what a finding's place holds)."""
    return keys.astype(object).where(keys.notna(), None).tolist()


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
        text = clean_text(raw)
        values, bad = _numbers(text)
        if f.kind == "int":
            frac = values.notna() & (values != values.round())
            bad = bad | frac
            values = values.where(~frac)
        decimals = None
        if f.kind in DECIMALS:
            decimals = values.notna() & (_decimals(text) > DECIMALS[f.kind])
        return values, bad, decimals
    if f.kind == "date":
        values, bad = read_dates(raw)
        return values, bad, None
    if f.kind == "enum" and f.codelist:
        values, bad = read_codes(raw, f.codelist, profile)
        return values, bad, None
    return clean_text(raw).astype("string"), pd.Series(False, index=raw.index), None


def _where(sheet: Sheet, raw: pd.DataFrame) -> Tables:
    """The header and cell look-up of one raw sheet (its reader's ``df.attrs``)."""
    return Tables(
        columns={sheet.key: dict(raw.attrs.get("columns") or {})},
        sheet_names={sheet.key: raw.attrs.get("sheet_name") or sheet.name},
    )


def _column(where: Tables, sheet: Sheet, code: str) -> str:
    """A column as a finding names it: its header as written, else its code."""
    header, _ = where.where(sheet.key, code, None)
    return f"「{header}」" if header else code


# each bound's pandera check name, the comparison a valid value passes, its symbol
_BOUND_CHECKS: dict[str, tuple[str, Callable[[Any, Any], Any], str]] = {
    "gt": ("greater_than", operator.gt, "> "),
    "ge": ("greater_than_or_equal_to", operator.ge, "≥ "),
    "ne": ("not_equal_to", operator.ne, "≠ "),
}


def field_bounds(f: Field) -> list[tuple[str, Any]]:
    """The bounds a field's non-empty values must keep, in order: ``[("gt", 0)]`` …"""
    bounds: list[tuple[str, Any]] = []
    if f.kind in ("area", "length"):
        bounds.append(("gt", 0))
    if f.kind == "int" and f.minimum is not None:
        bounds.append(("ge", f.minimum))
    if f.kind == "ratio":
        bounds.append(("ge", 0))
    if f.kind == "int" and f.code == "SJC":
        bounds.append(("ne", 0))
    if f.kind == "number" and f.code in ("GHZ",):
        bounds.append(("ge", 0))
    return bounds


def pandera_schema(sheet: Sheet) -> pa.DataFrameSchema:
    """The sheet's schema stated in pandera: the same columns, nullability and bounds that
    :func:`validate_sheet` checks in numpy. Imports pandera (≈ 0.2 s with its first use), so
    the check itself does not call it; the tests validate with it and compare."""
    _without_test_data_strategies()
    import pandera.pandas as pa

    made = {"gt": pa.Check.gt, "ge": pa.Check.ge, "ne": pa.Check.ne}
    cols = {
        f.code: pa.Column(
            None,
            checks=[made[op](value) for op, value in field_bounds(f)],
            nullable=not f.required,
            required=f.required,
            coerce=False,
        )
        for f in sheet.fields
    }
    return pa.DataFrameSchema(cols, strict=False)


def validate_sheet(sheet: Sheet, typed: pd.DataFrame) -> list[tuple[str, str, np.ndarray]]:
    """The failure cases of a typed sheet against its schema, in the order pandera gives them
    (lazy validation): ``("column_in_dataframe", column, [])`` for a required column that is
    missing, then column by column ``("not_nullable", column, positions)`` for empty required
    cells and ``("greater_than(0)", column, positions)`` … for the values out of a bound
    (empty cells pass a bound). Positions are row positions in ``typed``."""
    failures: list[tuple[str, str, np.ndarray]] = []
    none = np.empty(0, dtype=np.intp)
    for f in sheet.fields:
        if f.required and f.code not in typed.columns:
            failures.append(("column_in_dataframe", f.code, none))
    for f in sheet.fields:
        if f.code not in typed.columns:
            continue
        column = typed[f.code]
        empty = column.isna().to_numpy()
        if f.required and empty.any():
            failures.append(("not_nullable", f.code, np.flatnonzero(empty)))
        for op, value in field_bounds(f):
            name, passes, _ = _BOUND_CHECKS[op]
            values = column.to_numpy()
            with np.errstate(invalid="ignore"):
                bad = ~empty & ~np.asarray(passes(values, value), dtype=bool)
            if bad.any():
                failures.append((f"{name}({value})", f.code, np.flatnonzero(bad)))
    return failures


def _bound_text(check: str) -> str | None:
    """pandera's built-in check names → a readable bound (``greater_than(0)`` → ``> 0``)."""
    for name, _, symbol in sorted(_BOUND_CHECKS.values(), key=lambda b: -len(b[0])):
        if check.startswith(name + "("):
            return symbol + check[len(name) + 1 : -1]
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
    where = _where(sheet, raw)
    rows = raw["_row"].astype(int) if "_row" in raw.columns else pd.RangeIndex(2, len(raw) + 2)
    raw = raw.set_axis(pd.Index(rows), axis=0)
    typed = pd.DataFrame(index=raw.index)
    unreadable: dict[str, pd.Series] = {}
    too_precise: dict[str, pd.Series] = {}
    for f in sheet.fields:
        if f.code not in raw.columns:
            continue
        values, bad, decimals = _type_column(f, raw[f.code], profile)
        typed[f.code] = values
        unreadable[f.code] = bad
        if decimals is not None:
            too_precise[f.code] = decimals
    # after typing: a place names its row's key. The masks are on typed's index, so a
    # finding's row, key and raw cell are taken by position, in bulk.
    keys = _SheetKeys(typed, sheet.key)

    for code, decimals in too_precise.items():
        at = np.flatnonzero(decimals.to_numpy())
        for row, key, value in zip(typed.index[at], keys.at(at), raw[code].to_numpy()[at], strict=True):
            findings.append(
                make(
                    "RPT-008",
                    where.place(sheet, row, code, key),
                    sheet=sheet.name,
                    column=_column(where, sheet, code),
                    value=value,
                    decimals=DECIMALS[sheet.field(code).kind],
                )
            )

    for code, bad in unreadable.items():
        f = sheet.field(code)
        code_ = "RPT-005" if f.kind == "enum" else "RPT-003"
        at = np.flatnonzero(bad.to_numpy())
        for row, key, value in zip(typed.index[at], keys.at(at), raw[code].to_numpy()[at], strict=True):
            findings.append(
                make(
                    code_,
                    where.place(sheet, row, code, key),
                    sheet=sheet.name,
                    column=_column(where, sheet, code),
                    value=value,
                    kind=KIND_NAMES.get(f.kind, f.kind),
                )
            )

    try:
        findings.extend(_map_failures(sheet, validate_sheet(sheet, typed), raw, unreadable, keys, where))
    except (TypeError, ValueError) as err:  # a bound on an odd dtype: one finding, never a crash
        findings.append(make("RPT-003", Place(sheet=sheet.name), sheet=sheet.name, column="?", value=str(err), kind="?"))

    for cols in sheet.keys:
        if not set(cols) <= set(typed.columns):
            continue
        sub = typed[list(cols)]
        dup = sub.notna().all(axis=1) & sub.duplicated(keep="first")
        at = np.flatnonzero(dup.to_numpy())
        repeated = ("/".join(map(str, v)) for v in sub.iloc[at].itertuples(index=False, name=None))
        for row, key, value in zip(typed.index[at], keys.at(at), repeated, strict=True):
            findings.append(
                make(
                    "RPT-006",
                    where.place(sheet, row, "+".join(cols), key),
                    sheet=sheet.name,
                    column="+".join(_column(where, sheet, c) for c in cols),
                    value=value,
                )
            )

    # add absent optional columns so rules can rely on every field existing
    for f in sheet.fields:
        if f.code not in typed.columns:
            typed[f.code] = _empty_typed(sheet)[f.code].reindex(typed.index)
    return typed[[f.code for f in sheet.fields]], findings


class _SheetKeys:
    """The row keys of a sheet being typed, made in bulk when the first finding needs them
    (most sheets have none)."""

    def __init__(self, typed: pd.DataFrame, sheet_key: str) -> None:
        self._typed = typed
        self._sheet_key = sheet_key
        self._keys: np.ndarray | None = None

    def at(self, positions: np.ndarray) -> np.ndarray:
        """The keys (``str`` or None) of the rows at these positions; None at position -1."""
        if not len(positions):
            return np.empty(0, dtype=object)  # no finding: no keys made
        if self._keys is None:
            keys = _key_objects(row_keys(self._typed, self._sheet_key))
            self._keys = np.empty(len(keys) + 1, dtype=object)  # the last slot answers -1
            self._keys[: len(keys)] = keys
        return self._keys[positions]


def _map_failures(
    sheet: Sheet,
    failures: list[tuple[str, str, np.ndarray]],
    raw: pd.DataFrame,
    unreadable: dict[str, pd.Series],
    keys: _SheetKeys,
    where: Tables,
) -> list[Finding]:
    """The schema's failure cases → RPT-002 (missing column), RPT-004 (empty), RPT-007
    (bound), in their order. A cell that RPT-003/005 already named is left out (one finding
    per cell); its row, key and raw text are taken in bulk, failure by failure."""
    out: list[Finding] = []
    for check, column, at in failures:
        if check == "column_in_dataframe":
            out.append(
                make(
                    "RPT-002",
                    Place(sheet=sheet.name, field=column),
                    sheet=sheet.name,
                    column=f"{column}（{sheet.field(column).name}）",
                )
            )
            continue
        if column in unreadable:
            at = at[~unreadable[column].to_numpy()[at]]
        rows = raw.index[at]
        found = keys.at(at)
        if check == "not_nullable":
            for row, key in zip(rows, found, strict=True):
                out.append(
                    make("RPT-004", where.place(sheet, row, column, key), sheet=sheet.name, column=_column(where, sheet, column))
                )
        elif (bound := _bound_text(check)) is not None:
            values = raw[column].to_numpy()[at] if column in raw.columns else np.full(len(at), None)
            for row, key, value in zip(rows, found, values, strict=True):
                out.append(
                    make(
                        "RPT-007",
                        where.place(sheet, row, column, key),
                        sheet=sheet.name,
                        column=_column(where, sheet, column),
                        value=value,
                        bound=bound,
                    )
                )
    return out


# ---------------------------------------------------------------- the project sheet (long form)


def type_project(raw: pd.DataFrame, profile: Profile | None) -> tuple[dict[str, Any], dict[str, int], list[Finding]]:
    sheet = SHEETS_BY_KEY["project"]
    findings: list[Finding] = []
    where = _where(sheet, raw)
    raw = raw.dropna(subset=["field"]) if "field" in raw.columns else raw.iloc[0:0]
    dup = raw["field"].duplicated(keep="first") if len(raw) else pd.Series(dtype=bool)
    for i in dup.index[dup.to_numpy()]:
        r = raw.loc[i]
        findings.append(
            make("RPT-006", where.place(sheet, r["_row"], r["field"], r["field"]), sheet=sheet.name, column="字段", value=r["field"])
        )
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
                make(
                    code_,
                    where.place(sheet, row, f.code, f.code),
                    sheet=sheet.name,
                    row=row,
                    column=_column(where, sheet, f.code),
                    value=wide[f.code].iloc[0],
                    kind=KIND_NAMES.get(f.kind, f.kind),
                )
            )
            v = None
        elif v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
            v = None
            if f.required:
                findings.append(
                    make("RPT-004", where.place(sheet, row, f.code, f.code), sheet=sheet.name, row=row, column=_column(where, sheet, f.code))
                )
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


def _ref_findings(
    tables: Tables, sheet: Sheet, df: pd.DataFrame, column: str, bad: pd.Series, target_name: str
) -> list[Finding]:
    """RPT-009 on the rows of ``df`` where ``bad``; their keys and values taken in bulk."""
    at = np.flatnonzero(bad.to_numpy())
    if not len(at):
        return []  # no finding: no keys made
    keys = tables.row_keys(sheet.key)
    if not keys.index.equals(df.index):
        keys = keys.reindex(df.index)
    keys = _key_objects(keys.iloc[at])
    out = []
    for row, key, v in zip(df.index[at], keys, df[column].to_numpy()[at], strict=True):
        v = int(v) if isinstance(v, float) and v.is_integer() else v
        out.append(
            make(
                "RPT-009",
                tables.place(sheet, row, column, key),
                sheet=sheet.name,
                column=_column(tables, sheet, column),
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
        tables.columns[sheet.key] = dict(raw.attrs.get("columns") or {})
        tables.sheet_names[sheet.key] = raw.attrs.get("sheet_name") or sheet.name
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
