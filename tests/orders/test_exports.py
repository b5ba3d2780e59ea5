"""Lead exports: columns, content, formula-injection neutralisation, constant-memory paths."""

import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from orders import exports
from orders.exports import LEAD_COLUMNS, safe_cell
from orders.models import Lead, OrderStatus
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
