"""Reading file names' bytes: one reading for zip entries, folder files and findings."""

from __future__ import annotations

import os

import pytest

from schemas.catalogue import make
from schemas.file_names import decode_name, readable_name
from schemas.findings import Place


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"drawings/site.dxf", "drawings/site.dxf"),
        ("楼层平面图.dxf".encode(), "楼层平面图.dxf"),  # UTF-8
        ("楼层平面图.dxf".encode("gbk"), "楼层平面图.dxf"),  # GBK, as Chinese Windows writes
        ("附件/说明.txt".encode("gbk"), "附件/说明.txt"),
        (b"\xff\xfe.txt", None),  # neither UTF-8 nor GBK
        (b"\x81.dxf", None),  # a GBK lead byte without its trail byte
    ],
)
def test_decode_name(raw: bytes, text: str | None) -> None:
    assert decode_name(raw) == text


def test_utf8_is_tried_before_gbk() -> None:
    # these bytes are valid in both; UTF-8 wins, as for a zip entry without the flag
    raw = "说明".encode()
    assert raw.decode("gbk") != "说明"
    assert decode_name(raw) == "说明"


def test_readable_name_of_surrogate_escaped_file_system_names() -> None:
    gbk = os.fsdecode("楼层平面图.dxf".encode("gbk"))  # how os.scandir lists it on Linux
    assert gbk != "楼层平面图.dxf"
    assert readable_name(gbk) == "楼层平面图.dxf"
    assert readable_name("楼层平面图.dxf") == "楼层平面图.dxf"
    assert readable_name("site.dxf") == "site.dxf"
    assert readable_name(os.fsdecode(b"\xff\xfe.txt")) is None
    assert readable_name("\ud800") is None  # a lone surrogate no bytes stand behind


def test_findings_show_names_as_they_are_read() -> None:
    gbk = os.fsdecode("附件/说明.txt".encode("gbk"))
    assert make("PKG-005", Place(file=gbk), path=gbk).object.file == "附件/说明.txt"
    junk = make("PKG-005", Place(file=os.fsdecode(b"\xff\xfe.txt")), path="x").object.file
    assert junk == "\ufffd\ufffd.txt"
    junk.encode("utf-8")  # printable, writable to findings.json
