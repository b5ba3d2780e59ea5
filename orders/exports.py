"""Lead exports (CSV and XLSX) with constant memory, safe to open in a spreadsheet.

Every string cell goes through :func:`safe_cell`, so a lead whose name or title came from
a provider as ``=HYPERLINK(...)`` cannot run as a formula on the client's machine (CSV/
formula injection). The disputes and qualification exports reuse it.
"""

import csv
import io
import re
import tempfile
from collections.abc import Iterable, Iterator

from django.db.models import QuerySet
from django.http import FileResponse, StreamingHttpResponse
from openpyxl import Workbook

from orders.models import Download, Order

# The lead columns of DESIGN.md section 11, in order (also the API's lead fields).
LEAD_COLUMNS = (
    "id",
    "full_name",
    "title",
    "company",
    "company_domain",
    "email",
    "email_status",
    "phone",
    "linkedin_url",
    "country",
    "region",
    "city",
    "industry",
    "company_size",
    "qualified",
    "score",
)

FORMATS = ("csv", "xlsx")
# Rows fetched per round trip of the server-side cursor.
CHUNK_SIZE = 10000
# A CSV response is streamed in blocks of about this many characters: one write per block
# instead of one per row (100,000 rows were 100,000 chunked-encoding writes).
BLOCK_SIZE = 64 * 1024

# A spreadsheet treats a cell starting with one of these as a formula (or as the start of one).
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
# NUL and the other C0 controls XLSX cannot hold (tab, LF and CR are legal and handled above).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_TRIGGER_CHARS = frozenset("".join(_FORMULA_TRIGGERS))


def _neutralise(text: str) -> str:
    text = _CONTROL.sub("", text)
    if text.startswith(_FORMULA_TRIGGERS):
        return "'" + text
    return text


def safe_cell(value):
    """One export cell: numbers stay numbers; text loses NUL (and other control characters
    a spreadsheet cannot hold) and is prefixed with a single quote when it would start a
    formula. ``None`` becomes an empty cell, booleans ``true``/``false``."""
    if type(value) is str:
        # Fast path (most cells): a printable string holds no control character, so it is
        # returned as is unless its first character starts a formula.
        if value and (value[0] in _TRIGGER_CHARS or not value.isprintable()):
            return _neutralise(value)
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    return _neutralise(str(value))


def safe_rows(rows: Iterable[Iterable]) -> Iterator[list]:
    cell = safe_cell
    for row in rows:
        yield [cell(v) for v in row]


def exportable_leads(order: Order) -> QuerySet:
    """What a client may download: leads accepted at QA and delivered."""
    return order.leads.filter(delivered=True, accepted=True).order_by("id")


def lead_rows(order: Order) -> Iterator[tuple]:
    """Rows of LEAD_COLUMNS read with a server-side cursor, CHUNK_SIZE at a time."""
    return exportable_leads(order).values_list(*LEAD_COLUMNS).iterator(chunk_size=CHUNK_SIZE)


def csv_chunks(header: Iterable[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """The CSV text in blocks of about BLOCK_SIZE characters (constant memory)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    write, tell = writer.writerow, buffer.tell
    # A BOM so Excel opens UTF-8 (Chinese names) correctly.
    buffer.write("\ufeff")
    write(list(header))
    for row in safe_rows(rows):
        if tell() >= BLOCK_SIZE:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        write(row)
    yield buffer.getvalue()


def csv_response(*, filename: str, header: Iterable[str], rows: Iterable[Iterable]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_chunks(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def xlsx_response(*, filename: str, header: Iterable[str], rows: Iterable[Iterable], title: str = "leads"):
    """A write-only workbook (rows go straight to disk) saved to a temporary file that is
    deleted when the response closes it."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    sheet.append(list(header))
    for row in safe_rows(rows):
        sheet.append(row)
    tmp = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 (FileResponse closes it)
    workbook.save(tmp)
    tmp.seek(0)
    return FileResponse(
        tmp,
        as_attachment=True,
        filename=filename,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def download_record(*, order: Order, user, fmt: str, rows: int, via_api: bool) -> Download:
    """The audit row of one download (who, which order, format, how many rows, web or API)."""
    return Download.objects.create(order=order, user=user, format=fmt, rows=rows, via_api=via_api)


def order_leads_response(*, order: Order, user, fmt: str, via_api: bool):
    """The file response for an order's delivered leads, recorded as a Download.

    The caller has checked ownership and that the order is delivered or closed."""
    if fmt not in FORMATS:
        raise ValueError(fmt)
    rows = exportable_leads(order).count()
    download_record(order=order, user=user, fmt=fmt, rows=rows, via_api=via_api)
    filename = f"solosales-order-{order.pk}-leads.{fmt}"
    if fmt == "csv":
        return csv_response(filename=filename, header=LEAD_COLUMNS, rows=lead_rows(order))
    return xlsx_response(filename=filename, header=LEAD_COLUMNS, rows=lead_rows(order))
