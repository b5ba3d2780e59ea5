"""Lead exports (CSV and XLSX) with constant memory, safe to open in a spreadsheet.

Every string cell goes through :func:`safe_cell`, so a lead whose name or title came from
a provider as ``=HYPERLINK(...)`` cannot run as a formula on the client's machine (CSV/
formula injection). The disputes and qualification exports reuse it.

On PostgreSQL the order's lead CSV is written by the database (pg_copy_sql: COPY … TO
STDOUT WITH (FORMAT csv), safe_cell's rules in SQL), byte for byte the file of the Python
path (csv_chunks), which SQLite (``make run``) uses; tests/orders/test_exports.py compares
both on hostile values.
"""

import csv
import io
import re
import tempfile
from collections.abc import Iterable, Iterator

from django.db import connection, transaction
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
# Rows fetched per round trip of the server-side cursor (Python path: SQLite, XLSX).
# 10,000 rows as Python tuples grew a worker by ~40 MB; Django's default 2,000 far less.
CHUNK_SIZE = 2000
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


# --- The same CSV written by PostgreSQL ---------------------------------------------------
#
# safe_cell in SQL, per text column c of the subquery ``t``:
#   - a quote is prefixed when c starts with a formula trigger, or when it starts with
#     control characters followed by a trigger (ltrim only runs for those rare cells);
#   - control characters are not removed in SQL (regexp_replace on every cell made the
#     export several times slower): they are deleted from the CSV bytes in Python
#     (_CONTROL_BYTES, one C-speed scan per 64 KB block). Deleting them after quoting is
#     the same as before: none of them is a delimiter, quote, CR or LF (the quoting does
#     not change), and in UTF-8 these bytes never occur inside a multi-byte character.
#     PostgreSQL text cannot hold NUL.
# Booleans become true/false; an empty string becomes NULL, because PostgreSQL writes NULL
# as an unquoted empty field (as csv.writer writes None and "") but quotes an empty string.
# Otherwise PostgreSQL quotes exactly the fields csv.writer's QUOTE_MINIMAL quotes (those
# holding a comma, a double quote, CR or LF; quotes doubled). Its rows end with LF,
# csv.writer's with CRLF: each COPY data message is one row (PostgreSQL protocol,
# copy-out mode), whose final LF becomes CRLF.
_TRIGGER_CODES = ", ".join(str(ord(c)) for c in _FORMULA_TRIGGERS)
_CONTROL_SQL = "E'" + "".join(f"\\x{i:02x}" for i in (*range(1, 9), 11, 12, *range(14, 32))) + "'"
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_TEXT_FIELDS = frozenset({"CharField", "TextField", "EmailField", "SlugField", "URLField"})
_INTEGER_FIELDS = frozenset(
    {"AutoField", "BigAutoField", "SmallAutoField", "IntegerField", "BigIntegerField", "SmallIntegerField",
     "PositiveIntegerField", "PositiveBigIntegerField", "PositiveSmallIntegerField"}
)  # fmt: skip


def _safe_cell_sql(field, col: str) -> str | None:
    """The SQL of one CSV cell as safe_cell writes it (None: no SQL for this field type)."""
    kind = field.get_internal_type()
    if kind in _TEXT_FIELDS:
        quoted = f"'''' || {col}"
        return (
            f"CASE WHEN ascii({col}) IN ({_TRIGGER_CODES}) THEN {quoted}"
            f" WHEN ascii({col}) BETWEEN 1 AND 31"
            f" AND ascii(ltrim({col}, {_CONTROL_SQL})) IN ({_TRIGGER_CODES}) THEN {quoted}"
            f" ELSE NULLIF({col}, '') END"
        )
    if kind in _INTEGER_FIELDS:
        return col
    if kind == "BooleanField":
        return f"CASE WHEN {col} THEN 'true' WHEN NOT {col} THEN 'false' END"
    return None


def pg_copy_sql(queryset: QuerySet, columns: Iterable[str]) -> str | None:
    """``COPY (…) TO STDOUT`` of the CSV rows of ``queryset.values_list(*columns)`` exactly
    as csv_chunks writes them (but LF-terminated, see above), or None when this cannot be
    done in SQL (another database, a column of another type)."""
    if connection.vendor != "postgresql":
        return None
    qn = connection.ops.quote_name
    cells = []
    for name in columns:
        cell = _safe_cell_sql(queryset.model._meta.get_field(name), f"t.{qn(name)}")
        if cell is None:
            return None
        cells.append(cell)
    # The subquery keeps the queryset's filter and order (a subquery with ORDER BY is not
    # flattened into the outer query, whose rows come out in its order).
    sql, params = queryset.values_list(*columns).query.sql_with_params()
    select = f"SELECT {', '.join(cells)} FROM ({sql}) AS t"  # noqa: S608 (quoted names, values bound)
    return connection.ops.compose_sql(f"COPY ({select}) TO STDOUT WITH (FORMAT csv)", params)


def _crlf_block(rows: list) -> bytes:
    data = b"\r\n".join(rows) + b"\r\n"
    if _CONTROL_BYTES.search(data):
        data = _CONTROL_BYTES.sub(b"", data)
    return data


def pg_csv_chunks(header: Iterable[str], copy_sql: str) -> Iterator[bytes]:
    """The bytes of csv_chunks(header, rows) for the rows of pg_copy_sql, streamed from
    PostgreSQL in blocks of about BLOCK_SIZE bytes (constant memory).

    Closed early (the client went away), the generator cancels the COPY and rolls its
    atomic block back: the connection stays usable."""
    yield "".join(csv_chunks(header, ())).encode()
    with transaction.atomic(), connection.cursor() as cursor, cursor.cursor.copy(copy_sql) as copy:
        rows, size = [], 0
        append = rows.append
        for row in copy:  # one row per block, ending with LF
            append(row[:-1])
            size += len(row)
            if size >= BLOCK_SIZE:
                yield _crlf_block(rows)
                rows.clear()
                size = 0
        if rows:
            yield _crlf_block(rows)


def csv_response(
    *, filename: str, header: Iterable[str], rows: Iterable[Iterable] = (), copy_sql: str | None = None
) -> StreamingHttpResponse:
    """A streamed CSV download of ``rows``, or of the rows of ``copy_sql`` (pg_copy_sql)."""
    content = pg_csv_chunks(header, copy_sql) if copy_sql is not None else csv_chunks(header, rows)
    response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
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
        copy_sql = pg_copy_sql(exportable_leads(order), LEAD_COLUMNS)
        if copy_sql is not None:
            return csv_response(filename=filename, header=LEAD_COLUMNS, copy_sql=copy_sql)
        return csv_response(filename=filename, header=LEAD_COLUMNS, rows=lead_rows(order))
    return xlsx_response(filename=filename, header=LEAD_COLUMNS, rows=lead_rows(order))
