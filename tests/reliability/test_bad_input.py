"""Bad input and browser-side protections: CSRF on every form, hostile uploads, formula
injection in every export. (CSP, secure cookies, argon2, check --deploy and login throttling
are in tests/core/test_portal.py and tests/accounts/test_signup.py.)"""

import csv
import io
import uuid

import openpyxl
import pytest
from django.conf import settings
from django.test import Client

from disputes.models import EvidenceItem
from orders.models import Order
from solosales.accounts.services import api_token_create
from tests.disputes.helpers import PNG
from tests.orders.helpers import make_lead, make_order
from tests.reliability.test_access_matrix import MATRIX, _cases, _kwargs_for, _url
from wallet.services import adjustment_post

pytestmark = pytest.mark.django_db

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HOSTILE = '=HYPERLINK("http://evil.example","x")'


# --- CSRF ------------------------------------------------------------------------------------


def test_every_portal_form_refuses_a_post_without_a_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["owner"])
    checked = []
    for route, name, pattern in _cases({"portal", "owned"}):
        url = _url(route, _kwargs_for(pattern, world["objects"], MATRIX[name][1]))
        response = client.post(url, {"name": "x", "credits": 100, "statement": "x"})
        if response.status_code == 405:
            continue  # the route takes no POST at all
        assert response.status_code == 403, (name, url, response.status_code)
        checked.append(name)
    # allauth's own forms of a signed-in client: password change, email management, logout.
    for url in ("/accounts/password/change/", "/accounts/email/", "/accounts/logout/"):
        body = {"oldpassword": "x", "password1": "y", "password2": "y", "email": "n@example.com", "action_add": ""}
        assert client.post(url, body).status_code == 403, url
    assert client.get("/dashboard/").status_code == 200  # the refused logout left the session
    for url in ("/accounts/login/", "/accounts/signup/", "/accounts/password/reset/", "/i18n/setlang/"):
        client.logout()
        assert client.post(url, {"login": "a@example.com", "password": "x"}).status_code == 403, url
    assert len(checked) >= 10, checked


# --- uploads -----------------------------------------------------------------------------------


def _evidence_post(client, dispute_pk, key, name, content, content_type):
    upload = io.BytesIO(content)
    upload.name = name
    return client.post(
        f"/api/v1/disputes/{dispute_pk}/evidence/",
        {"file": upload, "text": "see file"},
        HTTP_AUTHORIZATION=f"Token {key}",
        format="multipart",
    )


@pytest.mark.parametrize(
    "name,content,why",
    [
        ("big.png", PNG + b"\x00" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1024), "oversize"),
        ("polyglot.png", PNG[:40] + b"<html><script>alert(1)</script></html>" + b"PK\x03\x04", "polyglot"),
        ("invoice.exe", b"MZ\x90\x00\x03" + b"\x00" * 200, "wrong type"),
        ("notes.png", b"just text pretending to be an image\n" * 20, "wrong type behind an image name"),
        ("page.html", b"<!doctype html><script>alert(1)</script>", "html"),
    ],
)
def test_hostile_evidence_uploads_are_refused_and_change_nothing(client, world, name, content, why):
    dispute_pk = world["objects"]["dispute"]["pk"]
    before = EvidenceItem.objects.filter(dispute_id=dispute_pk).count()
    response = _evidence_post(client, dispute_pk, world["key"], name, content, "image/png")
    assert response.status_code in (400, 413), (why, response.status_code, response.content[:300])
    assert EvidenceItem.objects.filter(dispute_id=dispute_pk).count() == before, why


@pytest.mark.parametrize("name", ["../../../../etc/passwd.png", "..\\..\\win.ini.png", "/abs/path.png", "a\x00b.png"])
def test_path_traversal_names_never_leave_the_private_root(client, world, name):
    dispute_pk = world["objects"]["dispute"]["pk"]
    response = _evidence_post(client, dispute_pk, world["key"], name, PNG, "image/png")
    if response.status_code == 400:
        return  # refused outright: fine
    assert response.status_code == 201, response.content[:300]
    item = EvidenceItem.objects.filter(dispute_id=dispute_pk).order_by("-seq").first()
    root = settings.PRIVATE_ROOT.resolve()
    stored = (root / item.file_path).resolve()
    assert stored.is_relative_to(root) and stored.exists()
    assert ".." not in item.file_path and "\x00" not in item.file_name
    assert "/" not in item.file_name and "\\" not in item.file_name


# --- formula injection in every export -----------------------------------------------------------


def _cells_csv(content: bytes):
    text = content.decode("utf-8-sig")
    for row in csv.reader(io.StringIO(text)):
        yield from row


def _assert_neutral(cells, where):
    bad = [c for c in cells if isinstance(c, str) and c.startswith(FORMULA_STARTS)]
    assert not bad, (where, bad[:5])


@pytest.fixture
def hostile(client_user):
    order = make_order(client_user, status="building")
    for field in ("full_name", "company", "title", "city"):
        make_lead(order, **{field: HOSTILE})
    make_lead(order, company="+1-555-CALL", full_name="@SUM(A1:A9)", title="-2+3")
    Order.objects.filter(pk=order.pk).update(found_count=6)
    from orders.services import order_qa_decide, order_transition

    order = order_transition(order=Order.objects.get(pk=order.pk), name="finish_building")
    order_qa_decide(order=order, gate="list", decision="pass", accepted_count=5)
    adjustment_post(user=client_user, amount=5, reason_code="goodwill", actor=None, key=str(uuid.uuid4()), memo=HOSTILE)
    mql = make_order(client_user, status="building", type="mql")
    for field in ("full_name", "company"):
        make_lead(mql, **{field: HOSTILE})
    Order.objects.filter(pk=mql.pk).update(found_count=2)
    mql = order_transition(order=Order.objects.get(pk=mql.pk), name="finish_building")
    order_qa_decide(order=mql, gate="list", decision="pass", accepted_count=2)
    return order, Order.objects.get(pk=mql.pk)


def test_every_export_neutralises_formulas(client, client_user, hostile):
    order, mql = hostile
    client.force_login(client_user)
    _t, key = api_token_create(user=client_user, name="exports")
    csv_urls = [
        f"/orders/{order.pk}/download.csv",
        "/wallet/statement.csv",
        f"/orders/{mql.pk}/report/csv/",
    ]
    for url in csv_urls:
        response = client.get(url)
        assert response.status_code == 200, url
        body = b"".join(response.streaming_content) if response.streaming else response.content
        cells = list(_cells_csv(body))
        assert any("HYPERLINK" in c for c in cells) or url.endswith("report/csv/"), url  # the data is there
        _assert_neutral(cells, url)
    api_csv = client.get(f"/api/v1/orders/{order.pk}/download/?format=csv", HTTP_AUTHORIZATION=f"Token {key}")
    assert api_csv.status_code == 200
    body = b"".join(api_csv.streaming_content) if api_csv.streaming else api_csv.content
    _assert_neutral(list(_cells_csv(body)), "api csv")
    for url in (f"/orders/{order.pk}/download.xlsx", f"/api/v1/orders/{order.pk}/download/?format=xlsx"):
        response = client.get(url, HTTP_AUTHORIZATION=f"Token {key}")
        assert response.status_code == 200, url
        body = b"".join(response.streaming_content) if response.streaming else response.content
        book = openpyxl.load_workbook(io.BytesIO(body))
        cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
        assert not [c.value for c in cells if c.data_type == "f"], url  # no formula cells at all
        _assert_neutral([c.value for c in cells], url)
