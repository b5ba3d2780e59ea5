"""Lead exports: columns, content, formula-injection neutralisation, constant-memory paths."""

import csv
import io

import psycopg
import pytest
from django.core.signals import request_finished
from django.db import close_old_connections, connection
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from orders import exports
from orders.exports import LEAD_COLUMNS, safe_cell
from orders.models import Download, Lead, OrderStatus
from tests.orders.helpers import make_order

S = OrderStatus

HOSTILE = {
    "full_name": "=cmd|' /C calc'!A0",
    "title": "+1 Head of Sales",
    "company": "-1+2 Corp",
    "company_domain": "evil.example",
    "city": "@SUM(1+1)*cmd|' /C calc'!A0",
    "region": "\tTab Region",
    "industry": "\rCR Industry",
    "phone": "+49 30 1234567",
    "linkedin_url": "\nLF link",
}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=cmd", "'=cmd"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("\nx", "'\nx"),
        ("\x00=x", "'=x"),
        ("a\x00b", "ab"),
        ("bell\x07", "bell"),
        ("Ada Lovelace", "Ada Lovelace"),
        ("李雷", "李雷"),
        ("a=b", "a=b"),
        ("", ""),
        (None, ""),
        (True, "true"),
        (False, "false"),
        (42, 42),
        (-3, -3),
    ],
)
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


def _delivered_with_hostile_lead(user):
    order = make_order(user, status=S.DELIVERED, target_count=20, leads=2)
    hostile = Lead.objects.filter(order=order, delivered=True).order_by("id").first()
    Lead.objects.filter(pk=hostile.pk).update(**HOSTILE)
    return order, hostile


def _csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


@pytest.mark.django_db
def test_csv_has_the_lead_columns_and_delivered_leads_only(logged_in, client_user):
    order = make_order(client_user, status=S.DELIVERED, target_count=20, leads=5, accepted=3)
    response = logged_in.get(reverse("orders:download", args=[order.pk, "csv"]))
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Disposition"] == f'attachment; filename="solosales-order-{order.pk}-leads.csv"'
    rows = _csv_rows(response)
    assert tuple(rows[0]) == LEAD_COLUMNS
    delivered = list(Lead.objects.filter(order=order, delivered=True).order_by("id"))
    assert len(delivered) == 3 and len(rows) == 4
    first = dict(zip(rows[0], rows[1], strict=True))
    lead = delivered[0]
    assert first["id"] == str(lead.pk)
    assert first["email"] == lead.email and first["email_status"] == "valid"
    assert first["country"] == "DE" and first["company_size"] == "51-200"
    assert first["qualified"] == "" and first["score"] == ""


@pytest.mark.django_db
def test_csv_neutralises_formula_injection(logged_in, client_user):
    order, hostile = _delivered_with_hostile_lead(client_user)
    rows = _csv_rows(logged_in.get(reverse("orders:download", args=[order.pk, "csv"])))
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["id"] == str(hostile.pk)
    for field, value in HOSTILE.items():
        expected = value if field == "company_domain" else "'" + value
        assert row[field] == expected, field


@pytest.mark.django_db
def test_xlsx_has_the_same_content_with_no_formulas(logged_in, client_user):
    order, hostile = _delivered_with_hostile_lead(client_user)
    response = logged_in.get(reverse("orders:download", args=[order.pk, "xlsx"]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert f'filename="solosales-order-{order.pk}-leads.xlsx"' in response["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = workbook.active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert tuple(rows[0]) == LEAD_COLUMNS
    assert len(rows) == 3
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["id"] == hostile.pk
    for field, value in HOSTILE.items():
        expected = value if field == "company_domain" else "'" + value
        # XML parsers read a stored CR as LF; the quote prefix is what matters.
        assert row[field] == expected.replace("\r", "\n"), field
    assert all(cell.data_type != "f" for r in sheet.iter_rows() for cell in r)


@pytest.mark.django_db
def test_csv_reads_leads_in_chunks_from_a_server_side_iterator(client_user, monkeypatch):
    order = make_order(client_user, status=S.DELIVERED, target_count=20, leads=7)
    monkeypatch.setattr(exports, "CHUNK_SIZE", 3)
    monkeypatch.setattr(exports, "BLOCK_SIZE", 1)  # one block per row here (64 KB blocks in production)
    rows = exports.lead_rows(order)
    assert not isinstance(rows, list | tuple)  # a generator, not a materialised list
    assert len(list(rows)) == 7
    chunks = exports.csv_chunks(LEAD_COLUMNS, exports.lead_rows(order))
    assert next(chunks).startswith("\ufeffid,full_name,")
    assert sum(1 for _ in chunks) == 7


@pytest.mark.django_db
def test_an_order_with_no_delivered_leads_exports_just_the_header(logged_in, client_user):
    order = make_order(client_user, status=S.DELIVERED, target_count=20, leads=2)
    Lead.objects.filter(order=order).update(delivered=False)
    rows = _csv_rows(logged_in.get(reverse("orders:download", args=[order.pk, "csv"])))
    assert rows == [list(LEAD_COLUMNS)]


# --- PostgreSQL writes the CSV (COPY): the same bytes as the Python path ------------------

needs_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY export is PostgreSQL only")

# Text values a provider could send (PostgreSQL text cannot hold NUL; safe_cell's NUL case
# is covered above): formula triggers, control characters before them and alone, CSV
# delimiters, quotes and line breaks, COPY's own markers, non-ASCII text, empty strings.
HOSTILE_TEXTS = [
    "=cmd|' /C calc'!A0",
    "+49 30 1234567",
    "-1+2",
    "@SUM(1+1)",
    "\tTab",
    "\rCR",
    "\nLF",
    "\r\n",
    "\t",
    "\x01=x",
    "\x01\x02+y",
    "\x1f\x0b-z",
    "\x01\tTab",
    "bell\x07",
    "\x01",
    "\x1f\x1e",
    "a\x0bb\x0cc",
    "",
    "a,b",
    'say "hi"',
    '"',
    '=",\n"',
    "line1\nline2",
    "cr\rmiddle",
    "a\tb",
    "\\.",
    "\\N",
    "\\",
    " leading space",
    "trailing space ",
    "'already quoted",
    "a=b",
    "李雷",
    "中文,测试",
    "=李雷",
    "🙂 emoji",
    "\x7fdel",
    "\u0085next line",
    "\u2028sep",
    "Ada Lovelace",
]


def _hostile_order(user):
    """A delivered order whose leads carry every hostile text in every text column (each
    column shifted), and every qualified/score value."""
    order = make_order(user, status=S.DELIVERED, target_count=len(HOSTILE_TEXTS), leads=len(HOSTILE_TEXTS))
    leads = list(Lead.objects.filter(order=order, delivered=True, accepted=True).order_by("id"))
    assert len(leads) == len(HOSTILE_TEXTS)
    text_columns = [c for c in LEAD_COLUMNS if c not in ("id", "qualified", "score")]
    for i, lead in enumerate(leads):
        values = {}
        for j, column in enumerate(text_columns):
            value = HOSTILE_TEXTS[(i + j) % len(HOSTILE_TEXTS)]
            max_length = Lead._meta.get_field(column).max_length
            values[column] = value[:max_length]
        values["qualified"] = (True, False, None)[i % 3]
        values["score"] = (None, 0, -3, 42, 2_000_000_000)[i % 5]
        Lead.objects.filter(pk=lead.pk).update(**values)
    return order


def _python_csv(order) -> bytes:
    return "".join(exports.csv_chunks(LEAD_COLUMNS, exports.lead_rows(order))).encode()


def _copy_csv(order) -> bytes:
    copy_sql = exports.pg_copy_sql(exports.exportable_leads(order), LEAD_COLUMNS)
    assert copy_sql is not None
    return b"".join(exports.pg_csv_chunks(LEAD_COLUMNS, copy_sql))


@needs_postgresql
@pytest.mark.django_db
@pytest.mark.parametrize("block_size", [1, 200, exports.BLOCK_SIZE])
def test_copy_csv_is_byte_identical_to_the_python_csv(client_user, monkeypatch, block_size):
    monkeypatch.setattr(exports, "BLOCK_SIZE", block_size)
    order = _hostile_order(client_user)
    python, copy = _python_csv(order), _copy_csv(order)
    assert copy == python
    # And it is what it should be: the hostile cells neutralised, one row per lead.
    rows = list(csv.reader(io.StringIO(copy.decode("utf-8-sig"), newline="")))
    assert tuple(rows[0]) == LEAD_COLUMNS
    leads = exports.exportable_leads(order).values_list(*LEAD_COLUMNS)
    assert rows[1:] == [[str(safe_cell(v)) for v in lead] for lead in leads]
    assert copy.startswith("\ufeff".encode()) and copy.endswith(b"\r\n")
    cells = [cell for row in rows[1:] for cell in row]
    assert "'=cmd|' /C calc'!A0" in cells and "'=x" in cells and "'\tTab" in cells and "" in cells
    assert not any(cell.startswith(exports._FORMULA_TRIGGERS) for cell in cells if cell not in ("-3",))


@needs_postgresql
@pytest.mark.django_db
def test_the_download_view_streams_the_copy_csv_with_the_python_bytes(logged_in, client_user, monkeypatch):
    order = _hostile_order(client_user)
    url = reverse("orders:download", args=[order.pk, "csv"])
    copied = logged_in.get(url)
    assert copied.status_code == 200 and copied.streaming
    assert copied["Content-Type"] == "text/csv; charset=utf-8"
    monkeypatch.setattr(exports, "pg_copy_sql", lambda *args: None)  # the SQLite (make run) path
    python = logged_in.get(url)
    assert b"".join(copied.streaming_content) == b"".join(python.streaming_content) == _python_csv(order)
    assert Download.objects.filter(order=order, format="csv", rows=len(HOSTILE_TEXTS)).count() == 2


@needs_postgresql
@pytest.mark.django_db
def test_copy_csv_of_an_order_with_no_leads_is_the_header(client_user):
    order = make_order(client_user, status=S.DELIVERED, target_count=20, leads=2)
    Lead.objects.filter(order=order).update(delivered=False)
    assert _copy_csv(order) == _python_csv(order) == "\ufeff".encode() + ",".join(LEAD_COLUMNS).encode() + b"\r\n"


def test_copy_sql_falls_back_when_a_column_has_no_sql(monkeypatch):
    monkeypatch.setattr(exports, "_safe_cell_sql", lambda field, column: None)
    assert exports.pg_copy_sql(Lead.objects.all(), LEAD_COLUMNS) is None


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_download_closed_early_cancels_the_copy_and_leaves_the_connection_usable(client_user, monkeypatch):
    monkeypatch.setattr(exports, "BLOCK_SIZE", 1)  # one block per row
    client = Client()
    client.force_login(client_user)
    order = make_order(client_user, status=S.DELIVERED, target_count=20, leads=5)
    response = client.get(reverse("orders:download", args=[order.pk, "csv"]))
    chunks = iter(response.streaming_content)
    assert next(chunks).startswith("\ufeffid,".encode())
    next(chunks)  # the COPY is running
    assert connection.in_atomic_block
    # What the server does when the client goes away; Django's own request_finished
    # handler (which closes a connection older than CONN_MAX_AGE) is held back, so what is
    # seen is the state the generator left.
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)
    assert not connection.in_atomic_block
    assert connection.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert Lead.objects.filter(order=order).count() == 5
    # and the next download is whole
    again = client.get(reverse("orders:download", args=[order.pk, "csv"]))
    assert b"".join(again.streaming_content) == _python_csv(order)
