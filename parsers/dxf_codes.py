"""What the fast path needs of ezdxf's tables, without importing ezdxf (its ``__init__``
imports the whole library, ≈ 0.17 s CPU): the group code types, the entity types that are
not graphical, valid lineweights and transparency, layer names, DXF code pages and the
``\\U+`` / ``\\M+`` escapes. Copied from ezdxf 1.4 (MIT licence, © Manfred Moitzi);
``tests/parsers/test_dxf_codes.py`` compares every one with ezdxf's own, so an ezdxf
upgrade that changes them fails there.
"""

from __future__ import annotations

import binascii
import codecs
import re
from itertools import chain

# ezdxf.lldxf.types
POINT_CODES = frozenset((10, 11, 12, 13, 14, 15, 16, 17, 18, 110, 111, 112, 210, 211, 212, 213, 1010, 1011, 1012, 1013))
POINTER_CODES = frozenset(chain(range(320, 370), range(390, 400), (480, 481, 1005)))
BINARY_DATA = frozenset((310, 311, 312, 313, 314, 315, 316, 317, 318, 319, 1004))
BYTES = frozenset(range(290, 300))
INT16 = frozenset(chain(range(60, 80), range(170, 180), range(270, 290), range(370, 390), range(400, 410), range(1060, 1071)))
INT32 = frozenset(chain(range(90, 100), range(420, 430), range(440, 450), range(450, 460), [1071]))
INT64 = frozenset(range(160, 170))
DOUBLE = frozenset(chain(range(10, 60), range(110, 150), range(210, 240), range(460, 470), range(1010, 1060)))

# ezdxf.lldxf.const
VALID_DXF_LINEWEIGHT_VALUES = frozenset(
    (-3, -2, -1, 0, 5, 9, 13, 15, 18, 20, 25, 30, 35, 40, 50, 53, 60, 70, 80, 90, 100, 106, 120, 140, 158, 200, 211)
)
TRANSPARENCY_BYBLOCK = 0x01000000
INVALID_NAME_CHARACTERS = '<>/\\":;?*=`'

#: entity types ezdxf does not load as graphical entities (ezdxf.entities.factory's
#: ENTITY_CLASSES that are not DXFGraphic, and ACAD_TABLE)
NOT_GRAPHICAL = frozenset((
    "ACAD_TABLE", "ACDBDICTIONARYWDFLT", "ACDBPLACEHOLDER", "APPID", "BLOCK", "BLOCK_RECORD", "CLASS",
    "DGNDEFINITION", "DICTIONARY", "DICTIONARYVAR", "DIMSTYLE", "DWFDEFINITION", "ENDBLK", "FIELDLIST", "GEODATA",
    "GROUP", "IDBUFFER", "IMAGEDEF", "IMAGEDEF_REACTOR", "LAYER", "LAYER_FILTER", "LAYOUT", "LTYPE", "MATERIAL",
    "MLEADERSTYLE", "MLINESTYLE", "PDFDEFINITION", "PLOTSETTINGS", "RASTERVARIABLES", "SORTENTSTABLE",
    "SPATIAL_FILTER", "STYLE", "SUN", "TABLE", "UCS", "VBA_PROJECT", "VIEW", "VISUALSTYLE", "VPORT",
    "WIPEOUTVARIABLES", "XRECORD",
))


def is_valid_table_name(name: str) -> bool:
    """ezdxf.lldxf.validator.is_valid_table_name"""
    if "\\" in name:
        name = name.replace(r"\U+", "").replace(r"\M+", "")
    return not set(INVALID_NAME_CHARACTERS).intersection(name)


def is_valid_layer_name(name: str) -> bool:
    """ezdxf.lldxf.validator.is_valid_layer_name (a leading ``*``: Autodesk's special layers)"""
    if name.startswith("*") and len(name) > 1:
        return is_valid_table_name(name[1:])
    return is_valid_table_name(name)


def is_transparency(value) -> bool:
    """ezdxf.lldxf.validator.is_transparency"""
    if isinstance(value, int):
        return value == TRANSPARENCY_BYBLOCK or bool(value & 0x02000000)
    return False


# ezdxf.tools.codepage
CODEPAGE_TO_ENCODING = {
    "874": "cp874", "932": "cp932", "936": "gbk", "949": "cp949", "950": "cp950", "1250": "cp1250",
    "1251": "cp1251", "1252": "cp1252", "1253": "cp1253", "1254": "cp1254", "1255": "cp1255",
    "1256": "cp1256", "1257": "cp1257", "1258": "cp1258",
}


def toencoding(dxfcodepage: str) -> str:
    """ezdxf.tools.codepage.toencoding: ``ANSI_936`` → ``gbk``; unknown → cp1252."""
    for codepage, encoding in CODEPAGE_TO_ENCODING.items():
        if dxfcodepage.endswith(codepage):
            return encoding
    return "cp1252"


# ezdxf.lldxf.encoding
BACKSLASH_UNICODE = re.compile(r"(\\U\+[A-Fa-f0-9]{4})")
MIF_ENCODED = re.compile(r"(\\M\+[1-5][A-Fa-f0-9]{4})")
MIF_CODE_PAGE = {"1": "cp932", "2": "cp950", "3": "cp949", "4": "cp1361", "5": "cp936"}


def has_dxf_unicode(s: str) -> bool:
    return bool(re.search(BACKSLASH_UNICODE, s))


def decode_dxf_unicode(s: str) -> str:
    return "".join(chr(int(p[3:], 16)) if p.startswith(r"\U+") else p for p in re.split(BACKSLASH_UNICODE, s))


def has_mif_encoding(s: str) -> bool:
    return bool(re.search(MIF_ENCODED, s))


def _decode_mif(s: str) -> str:
    if s.startswith(r"\M+"):
        try:
            return codecs.lookup(MIF_CODE_PAGE[s[3]]).decode(binascii.unhexlify(s[4:]))[0]
        except Exception:  # noqa: BLE001 — as ezdxf: left as written
            pass
    return s


def decode_mif_to_unicode(s: str) -> str:
    return "".join(_decode_mif(part) for part in re.split(MIF_ENCODED, s))
