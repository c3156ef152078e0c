"""AutoCAD-2013-style drawing text: what AutoCAD writes around the entities that ezdxf does not.

A drawing saved by AutoCAD 2013+ in a Chinese environment (``SAVEAS`` → "AutoCAD 2013 DXF")
differs from ezdxf's output in ways a reader meets before any entity:

- ``$ACADVER AC1027`` with ``$DWGCODEPAGE ANSI_936`` in the HEADER, while the text is UTF-8
  (R2007 and later are always UTF-8; the code page only says where the drawing was made);
- CRLF line ends (AutoCAD runs on Windows);
- a THUMBNAILIMAGE section after OBJECTS: the preview as a device-independent bitmap
  (group 90 the byte count, 310 the bytes in hex);
- an ACDSDATA section last: the data-store schemas AutoCAD always writes (thumbnail,
  treated-as-object-data, legacy, indexed-property, handle-attribute) and one ACDSRECORD,
  the PNG thumbnail of the model layout. ACDSSCHEMA and ACDSRECORD are group-0 records
  *without* a handle (group 5), which is what a tag scanner expecting entities trips on.

The layout of ACDSDATA follows ezdxf's notes in ``ezdxf/sections/acdsdata.py`` and
AutoCAD 2013 output: the schema numbers, subsection types (10 = owner id, 15 = binary,
1 = flag, 7 = handle attribute) and the right-aligned integer values. The images are a
small fixed picture, the same bytes on every run.
"""

from __future__ import annotations

import struct
import zlib

__all__ = ["autocad_text"]

THUMB_WIDTH, THUMB_HEIGHT = 32, 24
HEX_PER_LINE = 254  # 127 bytes a 310 line, as AutoCAD writes them


def _pixels() -> list[list[int]]:
    """The preview: a white sheet with a black frame and a diagonal (1 = ink)."""
    w, h = THUMB_WIDTH, THUMB_HEIGHT
    return [
        [int(x in (0, w - 1) or y in (0, h - 1) or x == y * w // h) for x in range(w)]
        for y in range(h)
    ]


def thumbnail_bmp() -> bytes:
    """The preview as a 1-bit DIB (BITMAPINFOHEADER, 2-colour palette, bottom-up rows), which
    is what THUMBNAILIMAGE holds: a BMP file without its 14-byte file header."""
    rows = []
    for row in reversed(_pixels()):  # bottom-up
        bits = "".join("0" if ink else "1" for ink in row)  # palette: 0 black, 1 white
        packed = int(bits, 2).to_bytes(THUMB_WIDTH // 8, "big")
        rows.append(packed + b"\0" * (-len(packed) % 4))
    image = b"".join(rows)
    header = struct.pack(
        "<IiiHHIIiiII", 40, THUMB_WIDTH, THUMB_HEIGHT, 1, 1, 0, len(image), 2835, 2835, 2, 2
    )
    palette = bytes([0, 0, 0, 0, 255, 255, 255, 0])
    return header + palette + image


def thumbnail_png() -> bytes:
    """The preview as a greyscale PNG, what AutoCAD 2013+ keeps in ACDSDATA."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\0" + bytes(0 if ink else 255 for ink in row) for row in _pixels())
    ihdr = struct.pack(">IIBBBBB", THUMB_WIDTH, THUMB_HEIGHT, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def _tag(code: int, value: str | int) -> str:
    """One group code/value pair as AutoCAD writes it: the code right-aligned in 3 columns,
    integers right-aligned (6 columns for 16-bit codes, 9 for 32-bit ones)."""
    if isinstance(value, int):
        width = 9 if 90 <= code <= 99 else 6
        value = f"{value:>{width}}"
    return f"{code:>3}\n{value}\n"


def _hex_lines(data: bytes) -> str:
    text = data.hex().upper()
    return "".join(_tag(310, text[i:i + HEX_PER_LINE]) for i in range(0, len(text), HEX_PER_LINE))


def _thumbnail_section() -> str:
    bmp = thumbnail_bmp()
    return _tag(0, "SECTION") + _tag(2, "THUMBNAILIMAGE") + _tag(90, len(bmp)) + _hex_lines(bmp) + _tag(0, "ENDSEC")


def _attribute(number: int, name: str, kind: int, value_code: int) -> str:
    """An ACDSRECORD attribute inside the thumbnail schema (101 opens it)."""
    head = _tag(101, "ACDSRECORD") + (_tag(95, 0) if number < 3 else _tag(1, "AcDbDs::ID"))
    return head + _tag(90, number) + _tag(2, name) + _tag(280, kind) + _tag(value_code, 1)


def _schema(number: int, name: str, prop: str, kind: int, extra: str = "") -> str:
    return (
        _tag(0, "ACDSSCHEMA") + _tag(90, number) + _tag(1, name) + _tag(2, prop) + _tag(280, kind)
        + _tag(91, 1 if kind == 7 else 0) + extra
    )


def _acdsdata_section(owner: str) -> str:
    """ACDSDATA: the five system schemas and the thumbnail record owned by ``owner`` (the
    handle of the model LAYOUT)."""
    png = thumbnail_png()
    thumbnail_schema = (
        _tag(0, "ACDSSCHEMA") + _tag(90, 0) + _tag(1, "AcDb_Thumbnail_Schema")
        + _tag(2, "AcDbDs::ID") + _tag(280, 10) + _tag(91, 8)
        + _tag(2, "Thumbnail_Data") + _tag(280, 15) + _tag(91, 0)
        + _attribute(1, "AcDbDs::TreatedAsObjectData", 1, 291)
        + _attribute(2, "AcDbDs::Legacy", 1, 291)
        + _attribute(3, "AcDs:Indexable", 1, 291)
        + _attribute(4, "AcDbDs::HandleAttribute", 7, 282)
    )
    record = (
        _tag(0, "ACDSRECORD") + _tag(90, 0)
        + _tag(2, "AcDbDs::ID") + _tag(280, 10) + _tag(320, owner)
        + _tag(2, "Thumbnail_Data") + _tag(280, 15) + _tag(94, len(png)) + _hex_lines(png)
    )
    return (
        _tag(0, "SECTION") + _tag(2, "ACDSDATA") + _tag(70, 2) + _tag(71, 8)
        + thumbnail_schema
        + _schema(1, "AcDbDs::TreatedAsObjectDataSchema", "AcDbDs::TreatedAsObjectData", 1)
        + _schema(2, "AcDbDs::LegacySchema", "AcDbDs::Legacy", 1)
        + _schema(3, "AcDbDs::IndexedPropertySchema", "AcDs:Indexable", 1)
        + _schema(4, "AcDbDs::HandleAttributeSchema", "AcDbDs::HandleAttribute", 7, _tag(284, 1))
        + record + _tag(0, "ENDSEC")
    )


def autocad_text(text: str, model_layout: str) -> str:
    """ezdxf's DXF text (``\\n`` line ends, ending ``  0\\nEOF\\n``) as AutoCAD 2013 writes it:
    THUMBNAILIMAGE and ACDSDATA before EOF, CRLF line ends.

    Parameters
    ----------
    text : str
        The whole drawing as written by ``Drawing.write`` to a text stream.
    model_layout : str
        Handle of the model space LAYOUT object (the thumbnail record's owner).

    Returns
    -------
    str
        The drawing text with ``\\r\\n`` line ends; encode it as UTF-8 (R2007+).
    """
    eof = _tag(0, "EOF")
    if not text.endswith(eof):
        raise ValueError("the DXF text does not end with EOF")
    body = text[: -len(eof)] + _thumbnail_section() + _acdsdata_section(model_layout) + eof
    return body.replace("\n", "\r\n")
