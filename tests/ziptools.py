"""Byte-level zip surgery shared by the tests that build hostile packages."""

from __future__ import annotations

import io
import struct
import zipfile


def headers_of(data: bytes, name: bytes) -> list[tuple[int, int]]:
    """(offset of the local header, offset of the central record) of an entry name."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        locals_ = [i.header_offset for i in zf.infolist() if i.orig_filename.encode() == name]
    centrals = []
    pos = data.find(b"PK\x01\x02")
    while pos != -1:
        (n_len,) = struct.unpack_from("<H", data, pos + 28)
        if data[pos + 46 : pos + 46 + n_len] == name:
            centrals.append(pos)
        pos = data.find(b"PK\x01\x02", pos + 4)
    return list(zip(locals_, centrals, strict=True))


def patch_flags(data: bytes, name: bytes, bits: int) -> bytes:
    """Set general-purpose flag bits of an entry in both of its headers."""
    buf = bytearray(data)
    for local, central in headers_of(data, name):
        for off in (local + 6, central + 8):
            (flags,) = struct.unpack_from("<H", buf, off)
            struct.pack_into("<H", buf, off, flags | bits)
    return bytes(buf)
