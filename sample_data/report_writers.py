"""Write the report tables as ``report.xlsx`` or as ``report/<sheet>.csv`` files, byte for
byte the same on every run.

openpyxl stamps the workbook's ``modified`` property with the current time and its zip
entries with the current date; both are pinned here: the properties are set before the
workbook is written with :class:`openpyxl.writer.excel.ExcelWriter` (which, unlike
``Workbook.save``, leaves ``modified`` alone), and the zip is then re-packed with fixed
entry dates.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from sample_data.tables import Table

NUMBER_FORMATS = {2: "0.00", 3: "0.000", 6: "0.000000"}
DATE_FORMAT = "yyyy-mm-dd"


def zip_datetime(moment: datetime) -> tuple[int, int, int, int, int, int]:
    """``moment`` as a zip entry date (local time of the timestamp, 2-second resolution)."""
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second // 2 * 2)


def repack_zip(data: bytes, moment: datetime) -> bytes:
    """The zip ``data`` with every entry dated ``moment`` and fixed attributes, entries in
    their original order."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(pinned_zipinfo(info.filename, moment), src.read(info))
    return out.getvalue()


def pinned_zipinfo(name: str, moment: datetime) -> zipfile.ZipInfo:
    """A ZipInfo for a regular file, with a fixed date, platform and permissions."""
    info = zipfile.ZipInfo(name, date_time=zip_datetime(moment))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, whatever platform writes it
    info.external_attr = 0o100644 << 16
    return info


def _cell(ws: object, value: object, decimals: int | None) -> object:
    """A write-only cell with a display format for floats and dates; plain values as is."""
    if isinstance(value, float) and decimals in NUMBER_FORMATS:
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = NUMBER_FORMATS[decimals]
        return cell
    if isinstance(value, date):
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = DATE_FORMAT
        return cell
    return value


def xlsx_bytes(tables: list[Table], created: datetime, creator: str) -> bytes:
    """The workbook: one sheet per table, header in row 1, codes as text cells.

    Parameters
    ----------
    tables : list of Table
        In workbook order.
    created : datetime
        Aware timestamp written as the created and modified properties and the zip dates.
    creator : str
        The creator property (the survey organisation).
    """
    wb = Workbook(write_only=True)
    for table in tables:
        ws = wb.create_sheet(table.name)
        for i, column in enumerate(table.columns, start=1):
            width = max(10, 2 * len(column.header) + 2)
            ws.column_dimensions[get_column_letter(i)].width = min(width, 40)
        ws.append(table.headers)
        decimals = [c.decimals for c in table.columns]
        for row in table.rows:
            ws.append([_cell(ws, v, d) for v, d in zip(row, decimals, strict=True)])
    utc = created.astimezone(UTC).replace(tzinfo=None)
    wb.properties.creator = creator
    wb.properties.lastModifiedBy = creator
    wb.properties.created = utc
    wb.properties.modified = utc
    buffer = io.BytesIO()
    ExcelWriter(wb, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True)).save()
    return repack_zip(buffer.getvalue(), created)


def _text(value: object, decimals: int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{decimals}f}" if decimals is not None else repr(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def csv_files(tables: list[Table]) -> dict[str, bytes]:
    """``report/<sheet name>.csv`` → UTF-8 (with BOM) bytes, one file per table."""
    files: dict[str, bytes] = {}
    for table in tables:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(table.headers)
        decimals = [c.decimals for c in table.columns]
        for row in table.rows:
            writer.writerow([_text(v, d) for v, d in zip(row, decimals, strict=True)])
        files[f"report/{table.name}.csv"] = buffer.getvalue().encode("utf-8-sig")
    return files
