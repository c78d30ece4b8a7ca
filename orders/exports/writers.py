"""Writers: CSV (streamed in chunks, constant memory) and XLSX (openpyxl's
write-only mode into a temporary file). Cells arrive formula-safe from the fields;
XLSX writes text as text cells (never formulas) and gives phone numbers back their
leading + (see _xlsx_cell)."""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

CSV, XLSX = "csv", "xlsx"
FORMATS = {CSV: "CSV", XLSX: "Excel (XLSX)"}
CONTENT_TYPES = {
    CSV: "text/csv; charset=utf-8",
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
BOM = "\ufeff"  # Excel reads UTF-8 CSV only with it
CHUNK_ROWS = 500


def csv_chunks(rows: Iterable[Iterable]) -> Iterator[str]:
    """The CSV text in chunks, BOM first. Rows that write their own CSV do (an export's
    rows.ExportRows: on PostgreSQL, straight from COPY)."""
    own = getattr(rows, "csv_chunks", None)
    return own() if own is not None else row_csv_chunks(rows)


def row_csv_chunks(rows: Iterable[Iterable]) -> Iterator[str]:
    """The CSV text of `rows` in chunks of CHUNK_ROWS rows, BOM first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield BOM
    pending = 0
    for row in rows:
        writer.writerow(row)
        pending += 1
        if pending >= CHUNK_ROWS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if pending:
        yield buffer.getvalue()


def write_csv(rows: Iterable[Iterable], out: IO[str]) -> None:
    """Write the CSV to a text file (open it with newline="")."""
    for chunk in csv_chunks(rows):
        out.write(chunk)


# A phone number or a signed number, as the formula guard left it: "'+49 30 123456".
_GUARDED_NUMBER = re.compile(r"'[+-][\d\s().\/-]*\d[\d\s().\/-]*")


def _xlsx_cell(sheet, value):
    """Text as a text cell, which a spreadsheet never runs as a formula; a phone or
    signed number loses the apostrophe the guard put in front of it (in XLSX it would
    only be part of the text), anything that looks like a formula keeps it."""
    if not isinstance(value, str):
        return value
    if _GUARDED_NUMBER.fullmatch(value):
        value = value[1:]
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    return cell


def write_xlsx(rows: Iterable[Iterable], out: IO[bytes], *, title: str = "Orders") -> None:
    """Write the rows as one sheet, streamed (write-only mode keeps memory flat)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    workbook.save(out)


def xlsx_tempfile(rows: Iterable[Iterable], *, title: str = "Orders") -> IO[bytes]:
    """The XLSX in an anonymous temporary file (gone when closed), rewound."""
    # Closed (and so deleted) by whoever sends it: FileResponse, the command.
    handle = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115
    write_xlsx(rows, handle, title=title)
    handle.seek(0)
    return handle
