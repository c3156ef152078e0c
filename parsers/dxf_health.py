"""Is an ASCII DXF healthy enough for the fast path? Checks of the whole tag stream for what
ezdxf's recover mode and auditor would repair, report or raise on.

The fast path (:mod:`parsers.dxf_fast`) must give exactly what :func:`parsers.dxf.read_dxf`
gives, findings included. So a file is taken only when

- every tag is well formed: integer group codes, strict numbers (ezdxf reports each number
  it has to guess as an error), finite coordinates, point tags in x/y order, a section
  frame SECTION … ENDSEC … EOF with exactly one ENTITIES section;
- every record has one hexadecimal, unique handle (the ACDSDATA and THUMBNAILIMAGE
  sections of AutoCAD 2013+, whose records have none and which hold no entities, are left
  to the skeleton audit below), every owner / pointer reference is a handle, an entity's
  owner and pointers name one that exists (its reactors may name what is gone: ezdxf keeps
  them unread), layer names are valid, APPDATA and XDATA are well formed, an entity's
  APPDATA is its reactors and its extension dictionary (a DICTIONARY) and nothing else,
  entities are laid out in their subclasses as AutoCAD writes them, modelspace entities
  are owned by ``*Model_Space`` (the owner is the 330 before the first subclass marker,
  not a reactor), POLYLINE / INSERT sequences are closed by SEQEND;
- the entities pass what ezdxf's auditor checks on them (linetype, text style, block and
  dimension style defined; colour, lineweight, transparency, extrusion valid; an ATTRIB
  has its tag);
- everything else — HEADER, CLASSES, TABLES, BLOCKS, OBJECTS, and the entities of types
  the fast path does not read (HATCH, DIMENSION, SPLINE, …, which have audits of their
  own) — is read and audited by ezdxf itself with no error and no fix (a small document:
  milliseconds). The entities left out of this skeleton that it refers to (a GROUP's
  members, the owner of an extension dictionary, an associative hatch's boundary, a draw
  order's entries) stay as stand-ins with their handle, owner, reactors, extension
  dictionary, space and layer, so that every reference resolves as in the whole file:
  what ezdxf repairs in groups and dictionaries is found there. A skeleton of plain
  tables and objects and nothing of the entities is judged by our own reading of what
  ezdxf checks there (:mod:`parsers.dxf_skeleton`), without importing ezdxf.

Anything else raises :class:`Doubt` and the caller reads the file with ezdxf.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import warnings
from dataclasses import dataclass

import numpy as np

from parsers.dxf_codes import (
    BYTES,
    DOUBLE,
    INT16,
    INT32,
    INT64,
    NOT_GRAPHICAL,
    POINT_CODES,
    POINTER_CODES,
    VALID_DXF_LINEWEIGHT_VALUES,
    is_transparency,
    is_valid_layer_name,
)
from parsers.dxf_skeleton import plainly_clean

_MAX_CODE = 1072
_IS_FLOAT = np.zeros(_MAX_CODE, dtype=bool)
_IS_FLOAT[[c for c in DOUBLE if c < _MAX_CODE]] = True
_IS_INT = np.zeros(_MAX_CODE, dtype=bool)
_IS_INT[[c for c in INT16 | INT32 | INT64 | BYTES if c < _MAX_CODE]] = True
_JUNK = b" \t\r\n\x00\x1a"
_NOT_RECORDS = (b"SECTION", b"ENDSEC", b"EOF", b"ENDTAB", b"CLASS")
#: Sections that hold no entities and whose records have no handle (AutoCAD 2013+ writes
#: both): left to the skeleton audit, where ezdxf reads them as it would in the whole file.
_DATA_SECTIONS = (b"ACDSDATA", b"THUMBNAILIMAGE")
_IMAGE_SIZES = {(b"90", b"THUMBNAILIMAGE"), (b"94", b"ACDSDATA")}  # byte counts of images
_REFERENCE_CODES = (330, 340, 350, 360)  # owner, pointer, ownership: must name a handle
_HEX = b"0123456789ABCDEFabcdef"
_TYPE_NAME = re.compile(rb"[A-Z0-9_]+\Z")
_X_CODES = np.array(sorted(POINT_CODES))
_TEXT_STYLED = (b"TEXT", b"MTEXT", b"ATTRIB", b"ATTDEF")
# the AcDbEntity subclass holds the common properties; handle, owner and APPDATA come first
_COMMON = (8, 6, 62, 370, 440, 67, 48, 60, 410, 347, 348, 390, 284, 420, 430)
_HEAD = (5, 330, 360, 102)
# subclass markers after AcDbEntity, as AutoCAD and ezdxf write them (None: any marker)
_MARKERS: dict[bytes, tuple[tuple[bytes | None, ...], ...]] = {
    b"LINE": ((b"AcDbLine",),),
    b"CIRCLE": ((b"AcDbCircle",),),
    b"ARC": ((b"AcDbCircle", b"AcDbArc"),),
    b"POINT": ((b"AcDbPoint",),),
    b"LWPOLYLINE": ((b"AcDbPolyline",),),
    b"MTEXT": ((b"AcDbMText",),),
    b"INSERT": ((b"AcDbBlockReference",),),
    b"TEXT": ((b"AcDbText", b"AcDbText"),),
    b"POLYLINE": tuple(
        (m,)
        for m in (b"AcDb2dPolyline", b"AcDb3dPolyline", b"AcDbPolyFaceMesh", b"AcDbPolygonMesh")
    ),
    b"VERTEX": ((b"AcDbVertex", None), (b"AcDbFaceRecord",)),
    b"SEQEND": ((),),
    b"ATTRIB": ((b"AcDbText", b"AcDbAttribute"),),
}
_SINGLE = (1, 8, 66, 67, 70)
_CHILDREN = (b"VERTEX", b"SEQEND", b"ATTRIB")
#: The APPDATA an entity may carry (AutoCAD writes these two): persistent reactors (the
#: groups, dictionaries, associative hatches and dimensions that watch the entity) and
#: the extension dictionary. ezdxf reads both silently and audits neither.
_APPDATA = {b"{ACAD_REACTORS": 330, b"{ACAD_XDICTIONARY": 360}
_NOT_GRAPHICAL = [name.encode() for name in sorted(NOT_GRAPHICAL)] + [
    b"SECTION",
    b"ENDSEC",
    b"ENDTAB",
    b"EOF",
]  # read as "the first" by the scan: must be the only one
_log = logging.getLogger(__name__)


class Doubt(Exception):
    """The file is not plain enough for the fast path."""


@dataclass(frozen=True)
class Tags:
    """The tag stream: group codes, raw byte values, and the ENTITIES content range."""

    lines: list[bytes]
    codes: np.ndarray  # int64
    values: np.ndarray  # object: bytes
    start: int  # first tag of the first entity
    end: int  # the ENDSEC tag of ENTITIES
    reals: np.ndarray | None = None  # float64: the value of every floating-point tag, else NaN


def _mask(codes: np.ndarray, wanted) -> np.ndarray:
    """``np.isin(codes, wanted)`` by table lookup (group codes are small integers)."""
    table = np.zeros(_MAX_CODE + 1, dtype=bool)
    table[[c for c in wanted if 0 <= c <= _MAX_CODE]] = True
    return table[np.clip(codes, 0, _MAX_CODE)] & (codes <= _MAX_CODE) & (codes >= 0)


_NUMBER_CHARS = b"0123456789.eE+- "


def numbers(values: np.ndarray, dtype: type) -> np.ndarray:
    """Strict parse of byte values (raises ValueError where ezdxf would have to guess).

    Values without spaces, made of digits, point, exponent and signs, are read by one C
    parse of the joined values; it must give one number per value, else (and for every
    other spelling) numpy's conversion of each value reads them as before.
    """
    items = values.tolist()
    if not items:
        return np.array(items, dtype=bytes).astype(dtype)
    try:
        joined = b" ".join(items)
    except TypeError:  # not all bytes: numpy's conversion says what it says
        return np.array(items, dtype=bytes).astype(dtype)
    buf = np.frombuffer(joined, dtype=np.uint8)
    ends = np.append(np.flatnonzero(buf == 32), len(buf))
    if len(ends) == len(items):  # no value holds a space: these are the values' ends
        lengths = np.diff(ends, prepend=-1) - 1
        if lengths.max() > 40:
            raise Doubt("a numeric value is too long")
        fast = (
            lengths.min() > 0
            and (dtype is float or lengths.max() <= 18)  # no int64 overflow
            and not joined.translate(None, _NUMBER_CHARS)
            # a sign alone is read as 0 when it is the last value (elsewhere it fails)
            and not (joined[-1:] in (b"+", b"-") and joined[-2:-1] in (b"", b" "))
        )
        if fast:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                try:
                    parsed = np.fromstring(joined, dtype=dtype, sep=" ")
                except (DeprecationWarning, ValueError):
                    parsed = None
            if parsed is not None and len(parsed) == len(items):
                return parsed.astype(dtype)
    elif max(map(len, items)) > 40:
        raise Doubt("a numeric value is too long")
    return np.array(items, dtype=bytes).astype(dtype)


def healthy_tags(data: bytes, limits: tuple[int, int] | None = None) -> Tags:
    """Parse and check the whole file; raise :class:`Doubt` unless it is healthy, and
    :class:`OverLimit` (before any check) when it holds more entities or vertices than
    ``limits`` (max_entities, max_vertices) allow."""
    lines = data.rstrip(_JUNK).replace(b"\r\n", b"\n").split(b"\n")
    if len(lines) % 2:
        raise Doubt("odd number of lines")
    code_lines = lines[0::2]
    codes = _group_codes(code_lines)
    values = np.empty(len(code_lines), dtype=object)
    values[:] = lines[1::2]
    if limits is not None:
        _check_counts(codes, values, limits)
    reals = _check_numbers(codes, values)
    start, end = _entities_section(codes, values)
    # sections without modelspace entities or handles: ezdxf reads them in the skeleton
    kept = _without_sections(codes, values, _DATA_SECTIONS)
    records = _Records(codes[kept], values[kept])
    shift = int(np.count_nonzero(~kept[:start]))
    records.check(start - shift, end - shift)
    inside = records.skeleton_entities(lines, np.flatnonzero(kept))
    _check_skeleton(lines, start, end, inside)
    return Tags(lines, codes, values, start, end, reals)


def _space_after_number(buf: np.ndarray) -> bool:
    """A space right after a digit or a minus (maybe two numbers on a line): what
    ``re.search(rb"[0-9-] ", …)`` finds, by one comparison of the bytes."""
    before = buf[:-1]
    digit_or_minus = ((before >= 48) & (before <= 57)) | (before == 45)
    return bool((digit_or_minus & (buf[1:] == 32)).any())


_LONE_MINUS = re.compile(rb"-(?![0-9])")


def _group_codes(code_lines: list[bytes]) -> np.ndarray:
    """The group code of every tag (``code_lines``: the even lines of the file).

    The lines as writers write them — leading spaces, an optional minus, digits — are read
    by one C parse of the joined lines; when any line is spelled otherwise (tabs, ``+``,
    trailing spaces, …) or the parse does not give one number per line, numpy's ``int``
    conversion of the lines reads them, as before, and raises ValueError where a line is no
    integer.
    """
    joined = b"\n".join(code_lines)
    buf = np.frombuffer(joined, dtype=np.uint8)
    ends = np.append(np.flatnonzero(buf == 10), len(buf))  # the \n after each line
    if np.diff(ends, prepend=-1).max() > 9:  # 8 characters and \n
        raise Doubt("a group code line is too long")
    last = buf[ends - 1] if len(buf) else buf  # each line's last character
    canonical = (
        len(buf) > 0
        and ends[0] > 0
        and bool(((last >= 48) & (last <= 57)).all())  # every line ends in a digit
        and not joined.translate(None, b"0123456789 -\n")
        and not _space_after_number(buf)
        and (b"-" not in joined or not _LONE_MINUS.search(joined))
    )
    if canonical:
        # no line holds two numbers: one number per line exactly when there are as many
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                codes = np.fromstring(joined, dtype=np.int64, sep=" ")
            except (DeprecationWarning, ValueError):
                codes = None
        if codes is not None and len(codes) == len(code_lines):
            return codes
    return np.array(code_lines).astype(np.int64)


def _without_sections(
    codes: np.ndarray, values: np.ndarray, names: tuple[bytes, ...]
) -> np.ndarray:
    """Per tag: False inside (and on the frame of) the sections called ``names``."""
    keep = np.ones(len(codes), dtype=bool)
    zero = np.flatnonzero(codes == 0)
    frames = zero[(values[zero] == b"SECTION") | (values[zero] == b"ENDSEC")]
    # frame checked by _entities_section: SECTION, ENDSEC alternate; the name follows SECTION
    for begin, finish in zip(frames[0::2].tolist(), frames[1::2].tolist(), strict=True):
        if values[begin + 1] in names:
            keep[begin : finish + 1] = False
    return keep


def _check_numbers(codes: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Check every number; return the floating-point values (NaN for the other tags)."""
    inside = (codes >= 0) & (codes < _MAX_CODE)
    clipped = np.where(inside, codes, 0)
    is_float = inside & _IS_FLOAT[clipped]
    floats = numbers(values[is_float], float)
    if not np.isfinite(floats).all():
        raise Doubt("non-finite coordinate")
    reals = np.full(len(codes), np.nan)
    reals[is_float] = floats
    numbers(values[inside & _IS_INT[clipped]], np.int64)
    # a point is x then y (then z): ezdxf raises on a lone x and drops a lone y
    x = np.flatnonzero(_mask(codes, _X_CODES))
    if len(x) and (x[-1] + 1 >= len(codes) or (codes[x + 1] != codes[x] + 10).any()):
        raise Doubt("x without y")
    for step, what in ((10, "y without x"), (20, "z not right after y")):
        later = np.flatnonzero(_mask(codes, _X_CODES + step))
        if len(later) and (later[0] == 0 or (codes[later - 1] != codes[later] - 10).any()):
            raise Doubt(what)
    return reals


def _entities_section(codes: np.ndarray, values: np.ndarray) -> tuple[int, int]:
    """Tag range of the ENTITIES section's entities, after checking the section frame."""
    zero = np.flatnonzero(codes == 0)
    names = values[zero]
    frame = (names == b"SECTION") | (names == b"ENDSEC") | (names == b"EOF")
    pos, kind = zero[frame], names[frame]
    if len(kind) < 3 or kind[-1] != b"EOF" or pos[-1] != len(codes) - 1:
        raise Doubt("no final EOF")
    expected = np.array([b"SECTION", b"ENDSEC"] * ((len(kind) - 1) // 2) + [b"EOF"], dtype=object)
    if len(kind) != len(expected) or not (kind == expected).all():
        raise Doubt("SECTION/ENDSEC out of order")
    if pos[0] != 0 or not (pos[2::2] == pos[1:-1:2] + 1).all():
        raise Doubt("tags outside sections")
    sections = pos[0:-1:2]
    if not (codes[sections + 1] == 2).all():
        raise Doubt("section without a name")
    which = np.flatnonzero(values[sections + 1] == b"ENTITIES")
    if len(which) != 1:
        raise Doubt("not exactly one ENTITIES section")
    k = int(which[0])
    return int(sections[k]) + 2, int(pos[2 * k + 1])


class _Records:
    """Records (a code 0 tag and the tags up to the next) of the whole file."""

    def __init__(self, codes: np.ndarray, values: np.ndarray) -> None:
        self.codes, self.values = codes, values
        self.zero = np.flatnonzero(codes == 0)
        self.names = values[self.zero]
        self.record = np.repeat(
            np.arange(len(self.zero)), np.diff(np.append(self.zero, len(codes)))
        )
        # record names as small integers: comparisons over the whole tag stream stay cheap
        self._ids = {name: i for i, name in enumerate(set(self.names.tolist()))}
        self.kind = np.array([self._ids[n] for n in self.names.tolist()], dtype=np.int64)
        self.tag_kind = self.kind[self.record]

    def tag_of(self, name: bytes) -> np.ndarray:
        """Per tag: does it belong to a record called ``name``?"""
        return self.tag_kind == self._ids.get(name, -1)

    def kind_in(self, names) -> np.ndarray:
        """Per record: is it called one of ``names``?"""
        return np.isin(self.kind, [self._ids[n] for n in names if n in self._ids])

    def first(self, code: int, where: np.ndarray | None = None) -> np.ndarray:
        """First value of ``code`` per record (None if absent)."""
        tags = np.flatnonzero(self.codes == code if where is None else (self.codes == code) & where)
        out = np.full(len(self.zero), None, dtype=object)
        uniq, first = np.unique(self.record[tags], return_index=True)
        out[uniq] = self.values[tags[first]]
        return out

    def names_of(self, record_name: bytes, code: int = 2) -> set[str]:
        """Lower-cased names (``code``) of the records called ``record_name``."""
        named = self.first(code)[self.names == record_name]
        return {v.decode("utf-8", "replace").lower() for v in named if v is not None}

    def check(self, start: int, end: int) -> None:
        if any(_TYPE_NAME.match(v) is None for v in set(self.names.tolist())):
            raise Doubt("a record type that is not a DXF name")
        self._check_header()
        self._check_handles()
        self._check_tag_structure()
        in_entities = np.zeros(len(self.zero), dtype=bool)
        in_entities[(self.zero >= start) & (self.zero < end)] = True
        self.in_entities = in_entities
        self._check_appdata(in_entities)
        wrong = [self._ids[n] for n in _NOT_GRAPHICAL if n in self._ids]
        if np.isin(self.kind[in_entities], wrong).any():
            raise Doubt("a table entry or object among the entities")
        is100 = self.codes == 100
        cum = np.cumsum(is100)
        self.sub = cum - cum[self.zero][self.record]  # 0 before the first marker, 1 in AcDbEntity …
        self._check_references(in_entities)
        self._check_sequences(in_entities)
        self._check_model_owner(in_entities)
        self._check_subclasses(in_entities)
        self._check_audit(in_entities)

    def _check_references(self, in_entities: np.ndarray) -> None:
        """References are handles. An entity's references name a handle that exists; its
        extension dictionary is a DICTIONARY outside the entities.

        What is outside the entities may refer to anything, entities included: the
        skeleton ezdxf audits (:meth:`skeleton_entities`) keeps a stand-in for every entity
        it refers to, so a reference resolves there exactly when it does in the file.
        """
        codes, values, record = self.codes, self.values, self.record
        tag_in_entities = in_entities[record]
        refs = _mask(codes, _REFERENCE_CODES)
        for ref in set(values[refs].tolist()):
            if not ref or len(ref) > 16 or ref.translate(None, _HEX):
                raise Doubt("a reference that is not a handle")
        everywhere = set(self.handle_int.tolist())
        # a VERTEX's owner may be its POLYLINE or the block record; ezdxf accepts both.
        # Reactors may name what is gone (ezdxf keeps them unread), and the entities left
        # in the skeleton are judged there by ezdxf, references and all.
        read = tag_in_entities & self.kind_in(_MARKERS)[record]
        owners = refs & tag_in_entities & (codes == 330) & ~self.in_group & (self.sub == 0)
        pointers = refs & read & ~self.in_group & (codes != 330) & (values != b"0")
        if (np.bincount(record[owners], minlength=len(self.zero)) > 1).any():
            raise Doubt("an entity with two owners")
        for ref in set(values[owners | pointers].tolist()):
            if int(ref, 16) not in everywhere:
                raise Doubt("an entity refers to a handle that does not exist")
        xdict = np.flatnonzero(tag_in_entities & (codes == 360) & self.in_group)
        if len(xdict):
            outside = ~in_entities[self.handle_record]
            kind = dict(
                zip(
                    self.handle_int[outside].tolist(),
                    self.names[self.handle_record[outside]].tolist(),
                    strict=True,
                )
            )
            if any(kind.get(int(v, 16)) != b"DICTIONARY" for v in set(values[xdict].tolist())):
                raise Doubt("an extension dictionary that is not a DICTIONARY object")

    def _check_appdata(self, in_entities: np.ndarray) -> None:
        """An entity's APPDATA is its reactors (330s) or its extension dictionary (one
        360), one group each, no nesting; in the types the scan reads (:data:`_MARKERS`)
        only before the first subclass marker, as AutoCAD writes it. ezdxf keeps other
        APPDATA apart; the scan reads by group code, so any other goes to ezdxf."""
        codes, values, record = self.codes, self.values, self.record
        tags = in_entities[record]
        if not (self.in_group & tags).any():
            return
        if ((self.depth < 0) | (self.depth > 1))[tags].any():
            raise Doubt("nested APPDATA")
        opening = np.flatnonzero(self.opening & tags)
        names = values[opening]
        if not np.isin(names, list(_APPDATA)).all():
            raise Doubt("APPDATA other than reactors and extension dictionary")
        pairs = record[opening].astype(np.int64) * 2 + (names == b"{ACAD_XDICTIONARY")
        if len(np.unique(pairs)) != len(pairs):
            raise Doubt("APPDATA twice in an entity")
        inner = np.flatnonzero(self.in_group & tags & ~self.opening & ~self.closing)
        group = np.searchsorted(opening, inner) - 1  # the group each inner tag is in
        allowed = np.array([_APPDATA[n] for n in names.tolist()], dtype=np.int64)
        if (codes[inner] != allowed[group]).any():
            raise Doubt("APPDATA holding other tags")
        per_group = np.bincount(group, minlength=len(opening))
        if (per_group[names == b"{ACAD_XDICTIONARY"] != 1).any():
            raise Doubt("an extension dictionary group without exactly one handle")

    def _check_header(self) -> None:
        codes, values = self.codes, self.values
        header = self.tag_of(b"SECTION")  # the HEADER's variables all sit in its SECTION
        if any(not v.startswith(b"$") for v in values[(codes == 9) & header]):
            raise Doubt("header variable without $")
        nines = np.flatnonzero((codes == 9) & header)
        if len(nines) and ((codes[nines + 1] == 9) | (codes[nines + 1] == 0)).any():
            raise Doubt("header variable without a value")

    def _check_handles(self) -> None:
        codes, values, names, record = self.codes, self.values, self.names, self.record
        needs_handle = np.ones(len(self.zero), dtype=bool)
        for name in _NOT_RECORDS:
            needs_handle &= names != name
        dimstyle = self.tag_of(b"DIMSTYLE")
        section = self.tag_of(b"SECTION")
        handle_tag = ((codes == 5) & ~dimstyle) | ((codes == 105) & dimstyle)
        handle_tag &= ~section  # $HANDSEED is a code 5 in the HEADER
        sortents = self.tag_of(b"SORTENTSTABLE")
        if sortents.any():
            # draw order (AutoCAD's DRAWORDER): after its own handle, pairs of 331 entity /
            # 5 sort handle, which need not be unique (ezdxf reads them strictly in the
            # skeleton audit, and does not audit them)
            fives = np.flatnonzero(sortents & (codes == 5))
            first = np.full(len(self.zero), len(codes))
            np.minimum.at(first, record[fives], fives)
            later = np.zeros(len(codes), dtype=bool)
            later[fives[fives != first[record[fives]]]] = True
            handle_tag &= ~later
        per_record = np.bincount(record[handle_tag], minlength=len(self.zero))
        if (per_record[needs_handle] != 1).any() or per_record[~needs_handle].any():
            raise Doubt("a record without exactly one handle")
        handles = values[handle_tag].tolist()
        ints = [int(h, 16) for h in handles]  # ValueError as ezdxf, which drops such a handle
        known = set(ints)
        if len(known) != len(handles) or 0 in known:
            raise Doubt("duplicate handles, or handle 0")
        self.handle_tag = handle_tag
        # the handle of each record that has one, as an integer, and that record
        self.handle_int = np.array(ints, dtype=np.uint64)
        self.handle_record = record[handle_tag]
        for name in set(values[(codes == 8) & ~section].tolist()):
            if not is_valid_layer_name(name.decode("utf-8", "replace")):
                raise Doubt("an invalid layer name")

    def _check_tag_structure(self) -> None:
        codes, values, record, n = self.codes, self.values, self.record, len(self.zero)
        is_102 = codes == 102
        opening = np.zeros(len(codes), dtype=bool)
        opening[is_102] = [v.startswith(b"{") for v in values[is_102]]
        closing = np.zeros(len(codes), dtype=bool)
        closing[is_102] = values[is_102] == b"}"
        if (is_102 & ~opening & ~closing).any():
            raise Doubt("APPDATA marker that neither opens nor closes")
        if (
            np.bincount(record[opening], minlength=n) != np.bincount(record[closing], minlength=n)
        ).any():
            raise Doubt("unbalanced APPDATA")
        self.opening, self.closing = opening, closing
        # per tag: inside an APPDATA group, its markers included
        depth = np.cumsum(np.where(is_102, np.where(closing, -1, 1), 0))
        self.depth = depth
        self.in_group = (depth > 0) | closing
        first_xdata = np.full(n, len(codes))
        starts = np.flatnonzero(codes == 1001)
        np.minimum.at(first_xdata, record[starts], starts)
        after = np.arange(len(codes)) > first_xdata[record]
        if (after & (codes < 1000)).any():
            raise Doubt("group codes after XDATA")
        embedded = codes == 101
        if embedded.any():
            # R2018 MTEXT keeps its columns in one embedded object (read by ezdxf, and by
            # GDAL as the MTEXT it is); any other embedded object goes to ezdxf
            mtext = self.tag_of(b"MTEXT") & (values == b"Embedded Object")
            if (embedded & ~mtext).any() or (np.bincount(record[embedded]) > 1).any():
                raise Doubt("embedded objects")

    def _check_sequences(self, in_entities: np.ndarray) -> None:
        """POLYLINE → VERTEX… SEQEND; INSERT with attributes → ATTRIB… SEQEND."""
        names = self.names
        kinds = names[in_entities]
        child = (kinds == b"VERTEX") | (kinds == b"SEQEND") | (kinds == b"ATTRIB")
        if len(kinds) and child[0]:
            raise Doubt("a sub-entity without its entity")
        follows = np.array([f is not None and int(f) == 1 for f in self.first(66)[in_entities]])
        ends = np.append(kinds, b"")  # a sentinel after the last entity
        for head, member in ((b"POLYLINE", b"VERTEX"), (b"INSERT", b"ATTRIB")):
            heads = np.flatnonzero(kinds == head)
            others = np.flatnonzero(ends != member)
            after = others[np.searchsorted(others, heads + 1)]  # first record past the members
            closes = ends[after] == b"SEQEND"
            opens = np.ones(len(heads), dtype=bool) if head == b"POLYLINE" else follows[heads]
            if (opens != closes).any():
                raise Doubt("a POLYLINE or INSERT sequence without its SEQEND")
        parents = np.maximum.accumulate(np.where(~child, np.arange(len(kinds)), 0))
        if child.any() and not np.isin(kinds[parents[child]], [b"POLYLINE", b"INSERT"]).all():
            raise Doubt("VERTEX, ATTRIB or SEQEND after another entity")

    def _check_model_owner(self, in_entities: np.ndarray) -> None:
        """Modelspace entities are owned by the *Model_Space block record (ezdxf moves or
        deletes entities whose owner is wrong)."""
        record_names = self.first(2)
        handles = self.first(5)
        block_records = np.flatnonzero(self.names == b"BLOCK_RECORD")
        model = [
            handles[r]
            for r in block_records.tolist()
            if record_names[r] is not None and record_names[r].upper() == b"*MODEL_SPACE"
        ]
        if len(model) != 1:
            raise Doubt("not exactly one *Model_Space block record")
        kinds = self.names
        top = in_entities & ~np.isin(kinds, [b"VERTEX", b"SEQEND", b"ATTRIB"])
        space = self.first(67)
        paper = np.array([s is not None and int(s) == 1 for s in space], dtype=bool)
        head = ~self.in_group & (self.sub == 0)  # the owner, not a reactor or later 330
        owners = self.first(330, head)[top & ~paper]
        if any(o != model[0] for o in owners):
            raise Doubt("a modelspace entity owned by something else")

    def _check_subclasses(self, in_entities: np.ndarray) -> None:
        """Entities laid out as AutoCAD writes them: handle, owner and APPDATA before the
        first subclass marker, the common properties in AcDbEntity, the rest after it, and
        the markers of each type. ezdxf reads tags by subclass, GDAL and the scan by group
        code; in this layout both read the same."""
        codes, record, sub, in_group = self.codes, self.record, self.sub, self.in_group
        is100 = codes == 100
        tags = in_entities[record] & ~is100 & (codes != 0) & (codes < 1000)
        head, common = _mask(codes, _HEAD), _mask(codes, _COMMON)
        # the types the scan reads keep handle, owner and APPDATA in the head; in the others
        # (read and audited by ezdxf in the skeleton) a later 330 / 360 is their own data,
        # e.g. an associative HATCH's boundary objects
        read = self.kind_in(_MARKERS)[record]
        later = head & (read | ((codes != 330) & (codes != 360)))
        if (tags & later & ~in_group & (sub != 0)).any() or (
            tags & ~head & ~in_group & (sub == 0)
        ).any():
            raise Doubt("tags before the first subclass marker")
        if (tags & read & in_group & (sub != 0)).any():
            raise Doubt("APPDATA after the first subclass marker")
        if (tags & common & (sub != 1)).any() or (tags & ~head & ~common & (sub == 1)).any():
            raise Doubt("common properties outside AcDbEntity")
        ents = np.flatnonzero(in_entities)
        kinds = self.names[ents]
        count = np.bincount(record[is100], minlength=len(self.zero))[ents]
        markers = [self.first(100, is100 & (sub == k))[ents] for k in (1, 2, 3)]
        if not (markers[0] == b"AcDbEntity").all():
            raise Doubt("an entity without AcDbEntity")
        for kind, layouts in _MARKERS.items():
            on = kinds == kind
            if not on.any():
                continue
            fits = np.zeros(int(on.sum()), dtype=bool)
            for layout in layouts:
                fit = count[on] == 1 + len(layout)
                for k, marker in enumerate(layout):
                    if marker is not None:
                        fit &= markers[k + 1][on] == marker
                fits |= fit
            if not fits.all():
                raise Doubt(f"{kind.decode()} with unexpected subclass markers")
        supported = np.isin(kinds, list(_MARKERS))
        # MTEXT: its chunks (3) come before its last part (1), as ezdxf joins them
        mtext = self.tag_of(b"MTEXT") & tags
        ones = np.full(len(self.zero), len(codes))
        np.minimum.at(ones, record[mtext & (codes == 1)], np.flatnonzero(mtext & (codes == 1)))
        chunks = np.flatnonzero(mtext & (codes == 3))
        if (chunks > ones[record[chunks]]).any():
            raise Doubt("MTEXT chunks after its text")
        for code in _SINGLE:
            per = np.bincount(record[(codes == code) & tags], minlength=len(self.zero))[ents]
            if (per[supported] > 1).any():
                raise Doubt(f"group code {code} twice in an entity")

    def _check_audit(self, in_entities: np.ndarray) -> None:
        """What ezdxf's auditor checks on every graphical entity."""
        ents = np.flatnonzero(in_entities)
        kinds = self.names[ents]
        ltypes = self.names_of(b"LTYPE") | {"bylayer", "byblock"}
        styles = self.names_of(b"STYLE")
        blocks = self.names_of(b"BLOCK")
        dimstyles = self.names_of(b"DIMSTYLE")

        def values_of(code: int, among: np.ndarray | None = None) -> list[str]:
            got = self.first(code)[ents if among is None else ents[among]]
            return [v.decode("utf-8", "replace").lower() for v in got if v is not None]

        if not set(values_of(6)) <= ltypes:
            raise Doubt("an undefined linetype")
        if not set(values_of(7, np.isin(kinds, _TEXT_STYLED))) <= styles:
            raise Doubt("an undefined text style")
        attribs = ents[kinds == b"ATTRIB"]
        tag = np.bincount(
            self.record[(self.codes == 2) & (self.sub == 3)], minlength=len(self.zero)
        )
        if (tag[attribs] == 0).any():  # in AcDbAttribute; ezdxf deletes an ATTRIB without
            raise Doubt("an ATTRIB without its tag")
        inserts = kinds == b"INSERT"
        if any(v is None for v in self.first(2)[ents[inserts]]):
            raise Doubt("an INSERT without a block name")
        if not set(values_of(2, inserts)) <= blocks:
            raise Doubt("an INSERT of an undefined block")
        dims = kinds == b"DIMENSION"
        if not set(values_of(2, dims)) <= blocks or not set(values_of(3, dims)) <= dimstyles:
            raise Doubt("a DIMENSION with an undefined block or style")
        for code, ok in (
            (62, lambda v: 0 <= v <= 257),
            (370, lambda v: v in VALID_DXF_LINEWEIGHT_VALUES),
            (440, is_transparency),
        ):
            got = [int(v) for v in self.first(code)[ents] if v is not None]
            if not all(ok(v) for v in set(got)):
                raise Doubt(f"an invalid value of group code {code}")
        ext = np.vstack([self._floats(c, ents, 0.0) for c in (210, 220, 230)])
        given = np.array([v is not None for v in self.first(210)[ents]], dtype=bool)
        if (given & (np.abs(ext).max(axis=0) < 1e-12)).any():  # no 230: z = 0, as ezdxf reads
            raise Doubt("a null extrusion vector")

    def skeleton_entities(self, lines: list[bytes], tag_index: np.ndarray) -> list[bytes]:
        """The lines of the ENTITIES section as ezdxf audits it in the skeleton.

        The types the fast path reads and checks itself (:data:`_MARKERS`) are left out;
        every other entity (HATCH, DIMENSION, SPLINE, …: types with audits of their own)
        stays, so that ezdxf reads and audits it as in the whole file. A left-out entity
        that the skeleton refers to (a group's member, the owner of an extension
        dictionary, an associative hatch's boundary, a draw order's entry) is replaced by
        a stand-in: a POINT with its handle, owner, reactors, extension dictionary, space
        and layer, so that every reference resolves as it does in the file.

        Parameters
        ----------
        lines : list of bytes
            The file's lines.
        tag_index : numpy.ndarray
            The index, in the file's tags, of each tag these records were built from.
        """
        ents = np.flatnonzero(self.in_entities)
        if not len(ents):
            return []
        codes, values, record = self.codes, self.values, self.record
        kept = np.zeros(len(self.zero), dtype=bool)
        kept[ents] = ~self.kind_in(_MARKERS)[ents]
        in_skeleton = ~self.in_entities[record] | kept[record]
        pointers = in_skeleton & _mask(codes, POINTER_CODES)
        referred = set()
        for ref in set(values[pointers].tolist()):
            if ref and len(ref) <= 16 and not ref.translate(None, _HEX):
                referred.add(int(ref, 16))
        left_out = self.in_entities[self.handle_record] & ~kept[self.handle_record]
        hit = left_out & np.isin(self.handle_int, np.array(sorted(referred), dtype=np.uint64))
        stub = np.zeros(len(self.zero), dtype=bool)
        stub[self.handle_record[hit]] = True
        if self.kind_in(_CHILDREN)[stub].any():
            raise Doubt("a reference to a VERTEX, ATTRIB or SEQEND")
        ends = np.append(self.zero[1:], len(codes))
        out: list[bytes] = []
        for r in np.flatnonzero(kept | stub).tolist():
            first, last = int(self.zero[r]), int(ends[r])
            if kept[r]:
                a, b = int(tag_index[first]), int(tag_index[last - 1]) + 1
                out += lines[2 * a : 2 * b]
                continue
            own = np.arange(first, last)
            head = own[self.sub[own] == 0][1:]  # handle, APPDATA, owner: as written
            common = own[(self.sub[own] == 1) & ((codes[own] == 67) | (codes[own] == 8))]
            out += [b"0", b"POINT"]
            for t in np.concatenate([head, [0], common]).tolist():
                if t == 0:
                    out += [b"100", b"AcDbEntity"]
                else:
                    k = int(tag_index[t])
                    out += lines[2 * k : 2 * k + 2]
            out += [b"100", b"AcDbPoint", b"10", b"0.0", b"20", b"0.0", b"30", b"0.0"]
        return out

    def _floats(self, code: int, ents: np.ndarray, default: float) -> np.ndarray:
        got = self.first(code)[ents]
        out = np.full(len(ents), default)
        present = np.array([v is not None for v in got], dtype=bool)
        out[present] = numbers(got[present], float)
        return out


#: Header variables whose values ezdxf neither audits nor repairs (dates and GUIDs are
#: unused; points and dates passed the strict number checks; a bad $HANDSEED is replaced
#: silently): files differing only there, or in the strings of DICTIONARYVAR objects, have
#: the same skeleton verdict.
_VOLATILE = frozenset(
    b"$" + name
    for name in (
        b"TDCREATE", b"TDUCREATE", b"TDUPDATE", b"TDUUPDATE", b"TDINDWG", b"TDUSRTIMER",
        b"FINGERPRINTGUID", b"VERSIONGUID", b"HANDSEED", b"EXTMIN", b"EXTMAX",
        b"LIMMIN", b"LIMMAX", b"PEXTMIN", b"PEXTMAX", b"LASTSAVEDBY",
    )
)
_VERDICTS_KEPT = 256
_verdicts: dict[bytes, str | None] = {}  # skeleton key → None (clean) or the doubt


def _check_skeleton(lines: list[bytes], start: int, end: int, inside: list[bytes]) -> None:
    """ezdxf reads and audits the file without the entities the fast path reads (``inside``:
    what stays of the ENTITIES section, :meth:`_Records.skeleton_entities`): no exception,
    error or fix.

    Reading even an empty skeleton costs ezdxf ~30 ms, most of a healthy file's fast read.
    The floor plans of one package come from one template and differ outside their
    entities only in :data:`_VOLATILE` header values, so the verdict is kept per skeleton
    with those values masked: the next such file costs a hash. (Entities kept in the
    skeleton, or stand-ins, make it the drawing's own: such a file is audited on its own.)
    """
    kept = lines[: 2 * start] + inside + lines[2 * end :]
    key = _skeleton_key(kept)
    if key not in _verdicts:
        if len(_verdicts) >= _VERDICTS_KEPT:
            _verdicts.pop(next(iter(_verdicts), b""), None)
        _verdicts[key] = _audit_skeleton(b"\n".join(kept) + b"\n")
    if (doubt := _verdicts[key]) is not None:
        raise Doubt(doubt)


def _skeleton_key(kept: list[bytes]) -> bytes:
    """Digest of the skeleton with the values of :data:`_VOLATILE` header variables, of
    DICTIONARYVAR objects (stored strings, e.g. a writer's time stamp) and the preview
    images of :data:`_DATA_SECTIONS` and their sizes masked (binary data, checked here to be
    hexadecimal: all ezdxf checks of it; the thumbnail differs from drawing to drawing)."""
    masked = list(kept)
    record, volatile, section = b"", False, b""
    for i in range(0, len(masked) - 1, 2):
        code = masked[i].strip()
        if code == b"0":
            record, volatile = masked[i + 1].strip(), False
        elif code == b"2" and i >= 2 and masked[i - 1].strip() == b"SECTION":
            section = masked[i + 1].strip()  # the section's name, right after SECTION
        elif code == b"9" and record == b"SECTION":
            volatile = masked[i + 1].strip() in _VOLATILE
        elif code == b"310" and section in _DATA_SECTIONS:
            value = masked[i + 1]
            if len(value) % 2 or value.translate(None, _HEX):
                raise Doubt("binary data that is not hexadecimal")
            masked[i + 1] = b""
        elif (code, section) in _IMAGE_SIZES:  # a number: checked by _check_numbers
            masked[i + 1] = b""
        elif volatile or (code == b"1" and record == b"DICTIONARYVAR"):
            masked[i + 1] = b""
    return hashlib.blake2b(b"\n".join(masked), digest_size=20).digest()


def _audit_skeleton(skeleton: bytes) -> str | None:
    """None if the skeleton is clean, else the doubt: our own judgement where it can vouch
    for the skeleton (:func:`parsers.dxf_skeleton.plainly_clean`, no ezdxf import), else
    ezdxf's recover mode and auditor."""
    if plainly_clean(skeleton.rstrip(b"\n").split(b"\n")):
        return None
    return _ezdxf_audit(skeleton)


def _ezdxf_audit(skeleton: bytes) -> str | None:
    from ezdxf import recover  # ≈ 0.17 s CPU the first time: only for skeletons we cannot vouch for

    try:
        doc, auditor = recover.read(io.BytesIO(skeleton))
    except Exception as exc:  # noqa: BLE001 — any failure means: not for the fast path
        return f"ezdxf cannot read the file without its entities: {exc}"
    if auditor.has_errors or auditor.has_fixes:
        _log.debug("skeleton audit: %s", [e.message for e in auditor.errors + auditor.fixes])
        return "ezdxf repairs the file outside its entities"
    try:
        # ezdxf's modelspace is the "Model" LAYOUT's block record; the fast path reads the
        # entities owned by the record called *Model_Space: they must be one
        model = doc.block_records.get("*Model_Space").dxf.handle
        if doc.modelspace().block_record_handle != model:
            return "the Model layout is not the *Model_Space block record"
    except Exception as exc:  # noqa: BLE001
        return f"ezdxf finds no modelspace: {exc}"
    return None


# ------------------------------------------------------------------ the profile's limits

# a record: a group code 0 line (any spelling ezdxf's int() reads as 0) and its name; a
# value line "0" is always followed by a code line (digits), never by a name, so the
# pattern cannot be fooled by the pairing of the lines
_RECORD = re.compile(rb"^[ \t]*[+-]?0+[ \t]*\r?\n[ \t]*([A-Za-z_][A-Za-z0-9_]*)", re.MULTILINE)
# a point: an x (group code 10 or 11) and, two lines on, its y (20 or 21)
_POINT = re.compile(
    rb"^[ \t]*\+?0*1[01][ \t]*\r?\n[^\n]*\n[ \t]*\+?0*2[01][ \t]*\r?$", re.MULTILINE
)
_NOT_ENTITIES = frozenset({b"SECTION", b"ENDSEC", b"EOF", b"TABLE", b"ENDTAB", b"VERTEX", b"SEQEND"})


def over_limits(data: bytes, max_entities: int, max_vertices: int) -> tuple[str, int] | None:
    """Count the records, then the points, of an ASCII DXF as it is scanned, and stop
    once either goes over the profile's limit.

    Entities are the records ezdxf would build (entities of the ENTITIES and BLOCKS
    sections, table entries, objects), without VERTEX / SEQEND (a polyline's vertices)
    and the section and table frames. Vertices are the points written as group codes
    10/20 or 11/21 (a polyline vertex, a LINE's ends, a text's insertion point …), every
    point of every entity: a HATCH, SPLINE or MLINE of millions of points is bounded too.

    Returns
    -------
    tuple[str, int] or None
        The Chinese reason (the limit and what was read) and the number of entities read
        before the stop; None within both limits. Linear time, nothing copied or kept.
    """
    entities = 0
    for match in _RECORD.finditer(data):
        if match.group(1).upper() not in _NOT_ENTITIES:
            entities += 1
            if entities > max_entities:
                return over_entities(max_entities), max_entities
    vertices = 0
    for _ in _POINT.finditer(data):
        vertices += 1
        if vertices > max_vertices:
            return over_vertices(max_vertices), entities
    return None


def over_entities(limit: int) -> str:
    return f"实体数超过上限 {limit}（城市配置 max_entities），读到第 {limit + 1} 个实体即停止读取"


def over_vertices(limit: int) -> str:
    return f"顶点（坐标点）数超过上限 {limit}（城市配置 max_vertices），读到第 {limit + 1} 个即停止读取"


class OverLimit(Exception):
    """The drawing holds more entities or vertices than the profile allows: not read."""

    def __init__(self, reason: str, entities: int) -> None:
        super().__init__(reason)
        self.reason, self.entities = reason, entities


def _check_counts(codes: np.ndarray, values: np.ndarray, limits: tuple[int, int]) -> None:
    """:func:`over_limits` on the tag stream the health check has split (the same counts:
    records without frames and VERTEX / SEQEND; x tags 10/11 with their y two tags on)."""
    max_entities, max_vertices = limits
    zero = np.flatnonzero(codes == 0)
    names = [v.strip().upper() for v in values[zero].tolist()]
    entities = int(sum(1 for v in names if v not in _NOT_ENTITIES))
    if entities > max_entities:
        raise OverLimit(over_entities(max_entities), max_entities)
    x = (codes[:-1] == 10) | (codes[:-1] == 11)
    y = (codes[1:] == 20) | (codes[1:] == 21)
    if int(np.count_nonzero(x & y)) > max_vertices:
        raise OverLimit(over_vertices(max_vertices), entities)
