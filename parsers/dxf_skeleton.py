"""Is a drawing's skeleton plainly clean? Our own judgement of the sections outside the
entities (HEADER, CLASSES, TABLES, BLOCKS, OBJECTS), so that the fast path need not import
ezdxf (≈ 0.17 s CPU) to have ``ezdxf.recover`` read and audit them.

:func:`plainly_clean` answers True only for a skeleton it can vouch for: every record of a
type it knows, laid out as CAD programs write it, and every judgement ezdxf's recover
loader and auditor make on such records passed —

- the section frame: HEADER ($ACADVER R2000 … R2018 first), CLASSES, TABLES, BLOCKS, an
  empty ENTITIES (nothing of the entities left: no entity of a type the fast path does not
  read, no stand-in), OBJECTS, then THUMBNAILIMAGE and ACDSDATA if any;
- TABLES: the nine tables once each, a head with a handle (not 0) owned by 0, entries of
  the table's type with a handle, owned by the head, a name unique in the table; a
  layer's line type defined (``Layer.audit``);
- BLOCKS: one BLOCK … ENDBLK pair per block record, owned by it and named as it, on a
  valid layer name (``check_for_valid_layer_name``), nothing else in them;
- OBJECTS: the root DICTIONARY first, owned by 0, holding ACAD_GROUP and
  ACAD_PLOTSTYLENAME (``check_root_dict*``); only DICTIONARY, ACDBDICTIONARYWDFLT (its
  default present), ACDBPLACEHOLDER, LAYOUT, MATERIAL, MLINESTYLE (≥ 1 element),
  MLEADERSTYLE (its text style, arrow and block present), DICTIONARYVAR; every object owned
  by one that exists, every dictionary entry present and owned by its dictionary, of the
  type ezdxf expects in a known dictionary (``_Sanitizer``), a non-root dictionary listed
  by the dictionary that owns it, no group;
- layouts: the LAYOUT objects are exactly ACAD_LAYOUT's entries, each linked both ways
  with its block record; Model on ``*Model_Space``, a layout on ``*Paper_Space``, every
  ``*Paper_Space…`` record with its layout (``Layouts.audit``, the check's own
  modelspace test).

Anything else — XDATA, extension dictionaries, entities in blocks, another object type,
an unusual layout — gets False: not a doubt, only "ask ezdxf" (:mod:`parsers.dxf_health`
then audits the skeleton with ``ezdxf.recover`` as before). The numbers, handles and
section frame of the whole file were checked before this is asked.
``tests/parsers/test_dxf_skeleton.py`` holds it to ezdxf's verdicts: True never where
ezdxf reads, repairs or reports anything, on every corpus drawing and on mutated skeletons.
"""

from __future__ import annotations

#: ezdxf.lldxf.const.INVALID_NAME_CHARACTERS (tests compare)
INVALID_NAME_CHARACTERS = '<>/\\":;?*=`'
#: ezdxf.audit.REQUIRED_ROOT_DICT_ENTRIES (tests compare)
REQUIRED_ROOT_DICT_ENTRIES = ("ACAD_GROUP", "ACAD_PLOTSTYLENAME")
#: ezdxf.sections.objects.KNOWN_DICT_CONTENT (tests compare)
KNOWN_DICT_CONTENT = {
    "ACAD_COLOR": "DBCOLOR",
    "ACAD_GROUP": "GROUP",
    "ACAD_IMAGE_DICT": "IMAGEDEF",
    "ACAD_DETAILVIEWSTYLE": "ACDBDETAILVIEWSTYLE",
    "ACAD_LAYOUT": "LAYOUT",
    "ACAD_MATERIAL": "MATERIAL",
    "ACAD_MLEADERSTYLE": "MLEADERSTYLE",
    "ACAD_MLINESTYLE": "MLINESTYLE",
    "ACAD_PLOTSETTINGS": "PLOTSETTINGS",
    "ACAD_RENDER_ACTIVE_SETTINGS": "MENTALRAYRENDERSETTINGS",
    "ACAD_SCALELIST": "SCALE",
    "ACAD_SECTIONVIEWSTYLE": "ACDBSECTIONVIEWSTYLE",
    "ACAD_TABLESTYLE": "TABLESTYLE",
    "ACAD_PDFDEFINITIONS": "PDFDEFINITION",
    "ACAD_DWFDEFINITIONS": "DWFDEFINITION",
    "ACAD_DGNDEFINITIONS": "DGNDEFINITION",
    "ACAD_VISUALSTYLE": "VISUALSTYLE",
    "AcDbVariableDictionary": "DICTIONARYVAR",
}
VERSIONS = ("AC1015", "AC1018", "AC1021", "AC1024", "AC1027", "AC1032")
TABLES = ("VPORT", "LTYPE", "LAYER", "STYLE", "VIEW", "UCS", "APPID", "DIMSTYLE", "BLOCK_RECORD")
OBJECTS = ("DICTIONARY", "ACDBDICTIONARYWDFLT", "ACDBPLACEHOLDER", "LAYOUT", "MATERIAL", "MLINESTYLE",
           "MLEADERSTYLE", "DICTIONARYVAR")
SECTIONS = ("HEADER", "CLASSES", "TABLES", "BLOCKS", "ENTITIES", "OBJECTS")
_BLOCK_CODES = {"BLOCK": {5, 330, 100, 8, 2, 70, 10, 20, 30, 3, 1, 67}, "ENDBLK": {5, 330, 100, 8, 67}}
#: the subclass markers of each record type, in order, as ezdxf loads them
MARKERS = {
    "DICTIONARY": ("AcDbDictionary",),
    "ACDBDICTIONARYWDFLT": ("AcDbDictionary", "AcDbDictionaryWithDefault"),
    "ACDBPLACEHOLDER": (),
    "LAYOUT": ("AcDbPlotSettings", "AcDbLayout"),
    "MATERIAL": ("AcDbMaterial",),
    "MLINESTYLE": ("AcDbMlineStyle",),
    "MLEADERSTYLE": ("AcDbMLeaderStyle",),
    "DICTIONARYVAR": ("DictionaryVariables",),
    "BLOCK": ("AcDbEntity", "AcDbBlockBegin"),
    "ENDBLK": ("AcDbEntity", "AcDbBlockEnd"),
    "VPORT": ("AcDbSymbolTableRecord", "AcDbViewportTableRecord"),
    "LTYPE": ("AcDbSymbolTableRecord", "AcDbLinetypeTableRecord"),
    "LAYER": ("AcDbSymbolTableRecord", "AcDbLayerTableRecord"),
    "STYLE": ("AcDbSymbolTableRecord", "AcDbTextStyleTableRecord"),
    "VIEW": ("AcDbSymbolTableRecord", "AcDbViewTableRecord"),
    "UCS": ("AcDbSymbolTableRecord", "AcDbUCSTableRecord"),
    "APPID": ("AcDbSymbolTableRecord", "AcDbRegAppTableRecord"),
    "DIMSTYLE": ("AcDbSymbolTableRecord", "AcDbDimStyleTableRecord"),
    "BLOCK_RECORD": ("AcDbSymbolTableRecord", "AcDbBlockTableRecord"),
}
_TYPED_VARS = {"$ACADVER": 1, "$DWGCODEPAGE": 3, "$HANDSEED": 5}
_DATA_RECORDS = {"THUMBNAILIMAGE": (), "ACDSDATA": ("ACDSSCHEMA", "ACDSRECORD")}


class _NotPlain(Exception):
    """Not a skeleton this module vouches for: ask ezdxf."""


Record = tuple[str, list[tuple[int, str]]]


def plainly_clean(lines: list[bytes]) -> bool:
    """True if ezdxf's recover mode would read and audit the skeleton ``lines`` (code and
    value lines, as :mod:`parsers.dxf_health` builds them) with no error, no fix and the
    ``*Model_Space`` record as its modelspace; False when unsure."""
    try:
        sections = _sections(lines)
        _judge(sections)
    except (_NotPlain, ValueError, IndexError, KeyError, UnicodeDecodeError):
        return False
    return True


def _sections(lines: list[bytes]) -> dict[str, list[Record]]:
    """The records of each section, by name, in the order of :data:`SECTIONS` (+ data)."""
    if len(lines) % 2:
        raise _NotPlain
    out: dict[str, list[Record]] = {}
    records: list[Record] | None = None
    name = None
    i = 0
    while i < len(lines):
        code, value = int(lines[i]), lines[i + 1].decode("utf-8").rstrip("\r")
        i += 2
        if value != value.strip() and not (60 <= code < 100 or 10 <= code < 60 or 140 <= code < 180 or 270 <= code < 300):
            raise _NotPlain  # white space around a text or handle: leave to ezdxf how it is read
        if 310 <= code < 320 and (len(value) % 2 or value.strip("0123456789ABCDEFabcdef")):
            raise _NotPlain  # binary data: hexadecimal pairs
        value = value.strip()
        if code == 0 and value == "SECTION":
            if records is not None or int(lines[i]) != 2:
                raise _NotPlain
            name = lines[i + 1].decode("ascii").strip()
            i += 2
            if name in out:
                raise _NotPlain
            records = out[name] = [("", [])]  # the tags before the first record (HEADER's all)
        elif code == 0 and value == "ENDSEC":
            records = None
        elif code == 0 and value == "EOF":
            if records is not None or i != len(lines):
                raise _NotPlain
        elif records is None:
            raise _NotPlain
        elif code == 0:
            records.append((value, []))
        else:
            records[-1][1].append((code, value))
    order = list(out)
    extra = order[len(SECTIONS):]
    if order[: len(SECTIONS)] != list(SECTIONS) or extra not in ([], ["THUMBNAILIMAGE"], ["ACDSDATA"],
                                                                 ["THUMBNAILIMAGE", "ACDSDATA"]):
        raise _NotPlain
    for data in extra:
        if any(kind not in _DATA_RECORDS[data] for kind, _ in out[data][1:]):
            raise _NotPlain
    return out


def _header_structure(header: list[tuple[int, str]]) -> None:
    """A variable name (9, "$…") then one value: one tag, or a point's x, y (and z) —
    ezdxf's ``header_validator`` raises on anything else."""
    i = 0
    while i < len(header):
        code, name = header[i]
        if code != 9 or not name.startswith("$") or i + 1 >= len(header):
            raise _NotPlain
        value = header[i + 1][0]
        i += 2
        if value in (9, 0):
            raise _NotPlain
        if 10 <= value <= 18:  # a point: y (and z) follow
            if i >= len(header) or header[i][0] != value + 10:
                raise _NotPlain
            i += 1
            if i < len(header) and header[i][0] == value + 20:
                i += 1
        elif 20 <= value < 40:
            raise _NotPlain
        if _TYPED_VARS.get(name, value) != value:
            raise _NotPlain  # ezdxf reads these as strings: $HANDSEED a handle, …
        if value == 5 and not _is_handle(header[i - 1][1]):
            raise _NotPlain  # recover drops a bad handle tag: the variable loses its value


def _one(tags: list[tuple[int, str]], code: int) -> str:
    """The value of the one tag ``code`` (raise when none or several)."""
    found = [v for c, v in tags if c == code]
    if len(found) != 1:
        raise _NotPlain
    return found[0]


def _head(tags: list[tuple[int, str]], handle_code: int = 5, kind: str | None = None) -> tuple[str, str]:
    """(handle, owner) of a record: no APPDATA but reactors, no XDATA, no extension dictionary."""
    inside = False
    for c, v in tags:
        if c >= 1000 or c == 360 or c == 102 and v != ("}" if inside else "{ACAD_REACTORS") or inside and c not in (102, 330):
            raise _NotPlain  # only reactors: a 102 pair holding 330 tags
        if c == 102:
            inside = not inside
    if inside:
        raise _NotPlain
    handle = _one(tags, handle_code)
    if not _is_handle(handle) or handle == "0":
        raise _NotPlain
    if kind is not None:
        markers = [i for i, (c, _) in enumerate(tags) if c == 100]
        if tuple(tags[i][1] for i in markers) != MARKERS[kind]:
            raise _NotPlain  # ezdxf reads each tag in its subclass
        if markers and any(c not in (handle_code, 102, 330) for c, _ in tags[: markers[0]]):
            raise _NotPlain  # before the first marker: handle, reactors, owner only
    return handle.upper(), _owner(tags)


def _is_handle(value: str) -> bool:
    return bool(value) and len(value) <= 16 and not value.strip("0123456789ABCDEFabcdef")


def _owner(tags: list[tuple[int, str]]) -> str:
    """The owner: the 330 before the first subclass marker that is not a reactor."""
    inside_reactors = False
    for c, v in tags:
        if c == 102:
            inside_reactors = v == "{ACAD_REACTORS"
        elif c == 100:
            break
        elif c == 330 and not inside_reactors:
            return v.upper()
    raise _NotPlain


def _judge(sections: dict[str, list[Record]]) -> None:
    header = sections["HEADER"][0][1]
    if header[:2] != [(9, "$ACADVER"), (1, header[1][1])] or header[1][1] not in VERSIONS:
        raise _NotPlain
    _header_structure(header)
    if len(sections["HEADER"]) != 1 or sections["CLASSES"][0][1] or sections["ENTITIES"] != [("", [])]:
        raise _NotPlain
    for kind, tags in sections["CLASSES"][1:]:
        if kind != "CLASS" or any(c not in (1, 2, 3, 90, 91, 280, 281) for c, _ in tags):
            raise _NotPlain
    owners: dict[str, str] = {}  # handle → owner, every record with a handle
    kinds: dict[str, str] = {}  # handle → record type
    names = _tables(sections["TABLES"], owners, kinds)
    _blocks(sections["BLOCKS"], names, owners, kinds)
    _objects(sections["OBJECTS"], names, owners, kinds)


def _tables(records: list[Record], owners: dict, kinds: dict) -> dict[str, dict[str, tuple[str, list]]]:
    """Table name → entry name (lower case) → (handle, tags)."""
    if records[0][1]:
        raise _NotPlain
    tables: dict[str, dict[str, tuple[str, list]]] = {}
    current = head = None
    for kind, tags in records[1:]:
        if kind == "TABLE":
            if current is not None:
                raise _NotPlain
            current = _one(tags, 2)
            handle, owner = _head(tags)
            if tags[0][0] != 2 or any(c not in (2, 5, 330, 100, 70, 71, 340) for c, _ in tags):
                raise _NotPlain
            if current not in TABLES or current in tables or owner != "0":
                raise _NotPlain
            owners[handle], kinds[handle], head = owner, "TABLE", handle
            tables[current] = {}
        elif kind == "ENDTAB":
            if current is None or tags:
                raise _NotPlain
            current = None
        elif kind == current:
            handle, owner = _head(tags, 105 if kind == "DIMSTYLE" else 5, kind)
            name = _one(tags, 2)
            plain = [(c, v) for c, v in tags if c not in (102, 330)]  # reactors and owner apart
            if [c for c, _ in plain[:4]] != [105 if kind == "DIMSTYLE" else 5, 100, 100, 2] or plain[1][1] != "AcDbSymbolTableRecord":
                raise _NotPlain  # handle, the two subclass markers, then the name, as ezdxf loads it
            key = name.lower()
            if owner != head or not name or key in tables[current] or handle in owners:
                raise _NotPlain
            owners[handle], kinds[handle] = owner, kind
            tables[current][key] = (handle, tags)
        else:
            raise _NotPlain
    if current is not None or set(tables) != set(TABLES):
        raise _NotPlain
    ltypes = tables["LTYPE"]
    for _handle, tags in tables["LAYER"].values():
        linetype = [v for c, v in tags if c == 6]
        if len(linetype) > 1 or (linetype[0] if linetype else "Continuous").lower() not in ltypes:
            raise _NotPlain  # Layer.audit replaces an undefined line type
    return tables


def _valid_layer_name(name: str) -> bool:
    if name.startswith("*") and len(name) > 1:
        name = name[1:]
    if "\\" in name:
        name = name.replace(r"\U+", "").replace(r"\M+", "")
    return not set(name) & set(INVALID_NAME_CHARACTERS)


def _blocks(records: list[Record], tables: dict, owners: dict, kinds: dict) -> None:
    if records[0][1] or len(records) % 2 != 1:
        raise _NotPlain
    record_of = {handle: name for name, (handle, _) in tables["BLOCK_RECORD"].items()}
    seen = set()
    for (begin, begin_tags), (end, end_tags) in zip(records[1::2], records[2::2], strict=True):
        if (begin, end) != ("BLOCK", "ENDBLK"):
            raise _NotPlain
        for kind, tags in ((begin, begin_tags), (end, end_tags)):
            if any(c not in _BLOCK_CODES[kind] for c, _ in tags):
                raise _NotPlain
            handle, owner = _head(tags, 5, kind)
            layer = _one(tags, 8)
            if owner not in record_of or handle in owners or not layer or not _valid_layer_name(layer):
                raise _NotPlain
            owners[handle], kinds[handle] = owner, kind
        owner = owners[_one(begin_tags, 5).upper()]
        if owners[_one(end_tags, 5).upper()] != owner or owner in seen:
            raise _NotPlain
        if _one(begin_tags, 2).lower() != record_of[owner]:
            raise _NotPlain
        seen.add(owner)
    if seen != set(record_of):
        raise _NotPlain


def _objects(records: list[Record], tables: dict, owners: dict, kinds: dict) -> None:  # noqa: PLR0912 — one rule per line
    if records[0][1] or len(records) < 2 or records[1][0] != "DICTIONARY":
        raise _NotPlain
    entries: dict[str, dict[str, str]] = {}  # dictionary handle → key → handle
    objects: list[tuple[str, str, list]] = []
    for kind, tags in records[1:]:
        if kind not in OBJECTS:
            raise _NotPlain
        handle, owner = _head(tags, 5, kind)
        if handle in owners:
            raise _NotPlain
        owners[handle], kinds[handle] = owner, kind
        objects.append((kind, handle, tags))
        if kind in ("DICTIONARY", "ACDBDICTIONARYWDFLT"):
            keys: dict[str, str] = {}
            body = [(c, v) for c, v in tags if c in (3, 350, 360)]
            if len(body) % 2:
                raise _NotPlain
            for (c1, key), (c2, ref) in zip(body[0::2], body[1::2], strict=True):
                if c1 != 3 or c2 not in (350, 360) or not key or key in keys:
                    raise _NotPlain
                keys[key] = ref.upper()
            entries[handle] = keys
    root = objects[0][1]
    if owners[root] != "0" or any(name not in entries[root] for name in REQUIRED_ROOT_DICT_ENTRIES):
        raise _NotPlain
    for kind, handle, tags in objects:
        owner = owners[handle]
        if handle != root and owner not in owners:
            raise _NotPlain  # check_owner_exist
        for c, v in tags:
            if c == 330 and v.upper() not in owners and v != "0":
                raise _NotPlain  # a reactor or pointer to nothing
        if kind in ("DICTIONARY", "ACDBDICTIONARYWDFLT") and handle != root:
            if kinds.get(owner) in ("DICTIONARY", "ACDBDICTIONARYWDFLT") and handle not in entries[owner].values():
                raise _NotPlain  # an orphaned dictionary
        if kind == "ACDBDICTIONARYWDFLT" and _one(tags, 340).upper() not in owners:
            raise _NotPlain
        if kind == "MLINESTYLE":
            count = int(_one(tags, 71))
            elements = [c for c, _ in tags[[c for c, _ in tags].index(71) + 1 :]]
            if count < 1 or elements != [49, 62, 6] * count:
                raise _NotPlain  # each element: offset, colour, line type
        if kind == "MLEADERSTYLE":
            for code in (341, 342, 343):  # "0": no arrow, no block; a text style must be there
                ref = [v for c, v in tags if c == code]
                if len(ref) > 1 or (ref and (ref[0] != "0" or code == 342) and ref[0].upper() not in owners):
                    raise _NotPlain
    for handle, keys in entries.items():
        for ref in keys.values():
            if ref not in owners or owners[ref] != handle:
                raise _NotPlain  # restore_owner_handles_of_dictionary_entries
    for name, expected in KNOWN_DICT_CONTENT.items():
        if name in entries[root]:
            table = entries[root][name]
            if table not in entries or any(kinds[ref] != expected for ref in entries[table].values()):
                raise _NotPlain
    if entries[entries[root]["ACAD_GROUP"]]:
        raise _NotPlain  # groups: audited by ezdxf
    _layouts(objects, entries, entries[root], tables)


def _layouts(objects: list, entries: dict, root: dict, tables: dict) -> None:
    if "ACAD_LAYOUT" not in root:
        raise _NotPlain
    listed = entries[root["ACAD_LAYOUT"]]
    layouts = {handle: tags for kind, handle, tags in objects if kind == "LAYOUT"}
    if set(listed.values()) != set(layouts):
        raise _NotPlain
    records = {handle: (name, tags) for name, (handle, tags) in tables["BLOCK_RECORD"].items()}
    on_record: dict[str, str] = {}
    for key, handle in listed.items():
        tags = layouts[handle]
        marker = [i for i, (c, v) in enumerate(tags) if c == 100 and v == "AcDbLayout"]
        if len(marker) != 1:
            raise _NotPlain
        own = tags[marker[0] :]
        name, record = _one(own, 1), _one(own, 330).upper()
        if name != key or record not in records or record in on_record:
            raise _NotPlain
        if _one(records[record][1], 340).upper() != handle:
            raise _NotPlain  # the block record points at its layout
        on_record[record] = name
    by_name = {name: handle for handle, (name, _) in records.items()}
    model, paper = by_name.get("*model_space"), by_name.get("*paper_space")
    if model is None or paper is None or on_record.get(model) != "Model" or paper not in on_record:
        raise _NotPlain
    if sum(1 for name in on_record.values() if name == "Model") != 1:
        raise _NotPlain
    for handle, (name, _) in records.items():
        if name.startswith("*paper_space") and handle not in on_record:
            raise _NotPlain  # Layouts.audit removes such a record
        if handle in on_record and not name.startswith(("*model_space", "*paper_space")):
            raise _NotPlain
