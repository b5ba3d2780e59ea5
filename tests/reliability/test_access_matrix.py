"""The access matrix: every URL pattern the resolver knows is classified here, and a route
that is not (a new page, API route or download) fails ``test_every_route_is_in_the_matrix``.

For every route that shows a client's object (page, API, download, evidence file) a second
client gets 404 and an anonymous visitor is sent to login (pages) or gets 401 (API); the owner
reaches it. Each staff group can do its own job in admin and nothing of the others'.
"""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver

from disputes.models import Dispute
from disputes.services import dispute_open
from solosales.accounts.services import api_token_create
from tests.disputes.helpers import PNG
from tests.factories import make_client, make_staff
from tests.orders.helpers import make_order
from wallet.models import Transfer
from wallet.services import topup_start

pytestmark = pytest.mark.django_db

# --- the matrix ---------------------------------------------------------------------------
# kind: "public" (anyone), "portal" (login; per-user page, no object), "owned" (login; a
# client's object: outsiders 404), "api" (token; no object), "api_owned" (token; outsiders 404),
# "ops_api" (staff group over the API: clients 404), "staff" (admin / RQ dashboard).
# The value is (kind, kwargs key) where the key names the fixture object in ``objects``.

MATRIX = {
    "home": ("public", None),
    "healthz": ("public", None),
    "set_language": ("public", None),
    "stripe-webhook": ("public", None),
    "sendcloud-webhook": ("public", None),
    "qualification_public:interested": ("public", None),
    "qualification_public:unsubscribe": ("public", None),
    "api-schema": ("public", None),
    "api-docs": ("public", None),
    "api-redoc": ("public", None),
    "outbox": ("staff", None),
    "outbox-message": ("staff", None),
    "dashboard": ("portal", None),
    "tokens": ("portal", None),
    "preferences": ("portal", None),
    "wallet:index": ("portal", None),
    "wallet:statement_csv": ("portal", None),
    "wallet:topup_new": ("portal", None),
    "orders:list": ("portal", None),
    "orders:new": ("portal", None),
    "disputes:list": ("portal", None),
    "token-revoke": ("owned", "token"),
    "wallet:topup_detail": ("owned", "topup"),
    "wallet:topup_success": ("owned", "topup"),
    "wallet:topup_cancel": ("owned", "topup"),
    "wallet:test_checkout": ("owned", "topup"),
    "orders:detail": ("owned", "order"),
    "orders:progress": ("owned", "order"),
    "orders:cancel": ("owned", "queued_order"),
    "orders:download": ("owned", "download"),
    "qualification:report": ("owned", "mql_order"),
    "qualification:report-print": ("owned", "mql_order"),
    "qualification:report-csv": ("owned", "mql_order"),
    "disputes:new": ("owned", "order_for_dispute"),
    "disputes:detail": ("owned", "dispute"),
    "disputes:evidence_add": ("owned", "dispute"),
    "disputes:withdraw": ("owned", "dispute"),
    "disputes:evidence_file": ("owned", "evidence"),
    "api-me": ("api", None),
    "api-wallet": ("api", None),
    "api-wallet-transfers": ("api", None),
    "api-wallet-topups": ("api", None),
    "api-orders": ("api", None),
    "api-order-quote": ("api", None),
    "api-disputes": ("api", None),
    "api-wallet-topup": ("api_owned", "topup"),
    "api-order": ("api_owned", "order"),
    "api-order-cancel": ("api_owned", "queued_order"),
    "api-order-leads": ("api_owned", "order"),
    "api-order-download": ("api_owned", "order"),
    "api-order-report": ("api_owned", "mql_order"),
    "api-dispute": ("api_owned", "dispute"),
    "api-dispute-evidence": ("api_owned", "dispute"),
    "api-dispute-withdraw": ("api_owned", "dispute"),
    "api-dispute-evidence-file": ("api_owned", "evidence"),
    "ops-orders": ("ops_api", None),
    "ops-order-qa": ("ops_api", "order"),
    "api-ops-dispute-decision": ("ops_api", "dispute"),
    "api-ops-dispute-approve": ("ops_api", "dispute"),
}
STAFF_PREFIXES = ("admin/",)  # Django admin and the RQ dashboard: staff_member_required
AUTH_PREFIXES = ("accounts/",)  # allauth's own pages (signup, login, reset): public by design


def _walk(patterns, prefix="", namespace=None):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = namespace
            if p.namespace:
                ns = f"{namespace}:{p.namespace}" if namespace else p.namespace
            yield from _walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            name = f"{namespace}:{p.name}" if namespace and p.name else (p.name or "")
            yield prefix + str(p.pattern), name, p


def all_routes():
    return list(_walk(get_resolver().url_patterns))


def test_every_route_is_in_the_matrix():
    missing = []
    for route, name, _p in all_routes():
        if route.startswith(STAFF_PREFIXES) or route.startswith(AUTH_PREFIXES):
            continue
        if name not in MATRIX:
            missing.append(f"{route} ({name or 'unnamed'})")
    assert not missing, "routes not in the access matrix (classify them in MATRIX): " + ", ".join(missing)
    names = {name for _r, name, _p in all_routes()}
    stale = sorted(set(MATRIX) - names)
    assert not stale, f"matrix names no route any more: {stale}"


# --- objects of one client -------------------------------------------------------------------


@pytest.fixture
def world(settings):
    owner = make_client(email="owner@example.com")
    outsider = make_client(email="outsider@example.com")
    order = make_order(owner, status="delivered", leads=4)
    mql = make_order(owner, status="delivered", type="mql", leads=4, qualified=2)
    queued = make_order(owner, status="queued")
    for_dispute = make_order(owner, status="delivered", leads=3)
    disputed = make_order(owner, status="delivered", leads=3)
    lead = disputed.leads.filter(delivered=True).first()
    dispute = dispute_open(
        user=owner,
        order=disputed,
        items=[{"lead": lead.pk, "reason": "invalid_email", "note": "bounced"}],
        statement="The address bounced.",
        files=[SimpleUploadedFile("bounce.png", PNG, content_type="image/png")],
    )
    evidence = dispute.evidence.exclude(file_path="").order_by("seq").first()
    topup = topup_start(user=owner, credits=100)
    token, key = api_token_create(user=owner, name="matrix")
    _t, outsider_key = api_token_create(user=outsider, name="matrix")
    objects = {
        "order": {"pk": order.pk},
        "queued_order": {"pk": queued.pk},
        "download": {"pk": order.pk, "fmt": "csv"},
        "mql_order": {"order_id": mql.pk},
        "order_for_dispute": {"order_id": for_dispute.pk},
        "dispute": {"pk": dispute.pk},
        "evidence": {"pk": dispute.pk, "seq": evidence.seq},
        "topup": {"pk": topup.pk},
        "token": {"pk": token.pk},
    }
    return {"owner": owner, "outsider": outsider, "objects": objects, "key": key, "outsider_key": outsider_key}


def _kwargs_for(pattern, objects, key):
    wanted = set(pattern.pattern.converters) if hasattr(pattern.pattern, "converters") else set()
    values = dict(objects[key]) if key else {}
    # the API's ops routes and others name their id "pk" or "order_id": adapt to the pattern
    if "order_id" in wanted and "order_id" not in values and "pk" in values:
        values["order_id"] = values.pop("pk")
    if "pk" in wanted and "pk" not in values and "order_id" in values:
        values["pk"] = values.pop("order_id")
    return {k: v for k, v in values.items() if k in wanted}


def _url(route, kwargs):
    path = route
    for k, v in kwargs.items():
        path = re.sub(rf"<(?:\w+:)?{k}>", str(v), path)
    assert "<" not in path, path
    return "/" + path


def _cases(kind_filter):
    out = []
    for route, name, pattern in all_routes():
        if name in MATRIX and MATRIX[name][0] in kind_filter:
            out.append((route, name, pattern))
    return out


def test_owned_pages_404_for_another_client_and_send_anonymous_users_to_login(client, world):
    owner, outsider = world["owner"], world["outsider"]
    checked = 0
    for route, name, pattern in _cases({"owned"}):
        url = _url(route, _kwargs_for(pattern, world["objects"], MATRIX[name][1]))
        client.force_login(owner)
        owner_get = client.get(url).status_code
        assert owner_get in (200, 302, 405), (name, url, owner_get)
        for method in ("get", "post"):
            client.logout()
            anonymous = getattr(client, method)(url)
            assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"], (method, url)
            client.force_login(outsider)
            status = getattr(client, method)(url).status_code
            # 405 leaks nothing when the method is refused before any lookup (for the owner too).
            refused_for_all = status == 405 and (method == "post" or owner_get == 405)
            assert status == 404 or refused_for_all, (name, method, url, status)
        checked += 1
    assert checked >= 15


def test_portal_pages_send_anonymous_users_to_login(client, world):
    for route, _name, _pattern in _cases({"portal"}):
        response = client.get(_url(route, {}))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], route


def test_api_objects_404_for_another_client_and_401_anonymous(client, world):
    checked = 0
    for route, name, pattern in _cases({"api_owned"}):
        url = _url(route, _kwargs_for(pattern, world["objects"], MATRIX[name][1]))
        for method in ("get", "post"):
            anonymous = getattr(client, method)(url)
            assert anonymous.status_code == 401, (name, method, url, anonymous.status_code)
            other = getattr(client, method)(url, HTTP_AUTHORIZATION=f"Token {world['outsider_key']}")
            assert other.status_code in (404, 405), (name, method, url, other.status_code)
            if other.status_code == 405:  # the method is not offered at all: nothing to leak
                continue
            assert other.json()["error"]["code"] == "not_found", (name, method)
        owner = client.get(url, HTTP_AUTHORIZATION=f"Token {world['key']}")
        assert owner.status_code in (200, 405), (name, url, owner.status_code)
        checked += 1
    assert checked >= 9


def test_api_lists_are_401_anonymous_and_scoped_to_the_caller(client, world):
    for route, _name, _pattern in _cases({"api"}):
        assert client.get(_url(route, {})).status_code in (401,), route
    listing = client.get("/api/v1/orders/", HTTP_AUTHORIZATION=f"Token {world['outsider_key']}").json()
    assert listing["count"] == 0
    assert client.get("/api/v1/disputes/", HTTP_AUTHORIZATION=f"Token {world['outsider_key']}").json()["count"] == 0
    transfers = client.get("/api/v1/wallet/transfers/", HTTP_AUTHORIZATION=f"Token {world['outsider_key']}").json()
    assert transfers["count"] == 0


def test_ops_api_is_401_anonymous_and_404_for_clients(client, world):
    for route, name, pattern in _cases({"ops_api"}):
        url = _url(route, _kwargs_for(pattern, world["objects"], MATRIX[name][1]))
        assert client.get(url).status_code == 401, url
        assert client.post(url).status_code == 401, url
        for method in ("get", "post"):
            response = getattr(client, method)(url, HTTP_AUTHORIZATION=f"Token {world['key']}")
            assert response.status_code in (404, 405), (url, method, response.status_code)


def test_staff_pages_are_closed_to_clients_and_anonymous_users(client, world):
    urls = ["/admin/", "/admin/rq/", "/admin/wallet/transfer/adjust/", "/admin/orders/order/qa-queue/", "/outbox/"]
    for url in urls:
        anonymous = client.get(url)
        assert anonymous.status_code in (302, 404), url
        if anonymous.status_code == 302:
            assert "login" in anonymous["Location"], url
    client.force_login(world["owner"])
    for url in urls:
        response = client.get(url)
        assert response.status_code in (302, 403, 404), (url, response.status_code)
        if response.status_code == 302:
            assert "login" in response["Location"], url


# --- staff groups: each does its own job and nothing of the others' ---------------------------

JOBS = {
    # job: (GET url builder, group that may)
    "ledger_adjustment": (lambda w: "/admin/wallet/transfer/adjust/", "finance"),
    "qa1_queue": (lambda w: "/admin/orders/order/qa-queue/", "ops_qa"),
    "qa1_decide": (lambda w: f"/admin/orders/order/{w['qa_order'].pk}/qa/", "ops_qa"),
    "qa2_decide": (lambda w: f"/admin/qualification/mqlreview/{w['mql_qa_order'].pk}/change/", "ops_qa"),
    "arbitrate": (lambda w: f"/admin/disputes/dispute/{w['dispute'].pk}/arbitrate/", "ops_arbitration"),
}


@pytest.fixture
def staff_world(world):
    owner = world["owner"]
    return {
        "qa_order": make_order(owner, status="list_qa", leads=5),
        "mql_qa_order": make_order(owner, status="mql_qa", type="mql", leads=5, qualified=2),
        "dispute": Dispute.objects.get(pk=world["objects"]["dispute"]["pk"]),
        "owner": owner,
    }


@pytest.mark.parametrize("group", ["ops_qa", "ops_arbitration", "finance"])
def test_each_staff_group_reaches_its_own_jobs_only(client, staff_world, group):
    staff = make_staff(groups=(group,))
    client.force_login(staff)
    for job, (url_for, allowed) in JOBS.items():
        response = client.get(url_for(staff_world))
        if group == allowed:
            assert response.status_code == 200, (group, job, response.status_code)
        else:
            assert response.status_code in (403, 404), (group, job, response.status_code)


@pytest.mark.parametrize("group", ["ops_qa", "ops_arbitration"])
def test_only_finance_posts_ledger_adjustments(client, staff_world, group):
    client.force_login(make_staff(groups=(group,)))
    before = Transfer.objects.count()
    response = client.post(
        "/admin/wallet/transfer/adjust/",
        {"user": staff_world["owner"].pk, "direction": "credit", "amount": 50, "reason_code": "goodwill", "memo": "x"},
    )
    assert response.status_code == 403
    assert Transfer.objects.count() == before


@pytest.mark.parametrize("group", ["finance", "ops_arbitration"])
def test_only_ops_qa_decides_qa(client, staff_world, group):
    client.force_login(make_staff(groups=(group,)))
    order = staff_world["qa_order"]
    response = client.post(f"/admin/orders/order/{order.pk}/qa/", {"decision": "pass", "accepted_count": 3})
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == "list_qa"
    mql = staff_world["mql_qa_order"]
    response = client.post(f"/admin/qualification/mqlreview/{mql.pk}/change/", {"decision": "pass", "notes": "x"})
    assert response.status_code in (403, 404)
    mql.refresh_from_db()
    assert mql.status == "mql_qa"


@pytest.mark.parametrize("group", ["finance", "ops_qa"])
def test_only_arbitrators_decide_disputes(client, staff_world, group):
    client.force_login(make_staff(groups=(group,)))
    dispute = staff_world["dispute"]
    response = client.post(f"/admin/disputes/dispute/{dispute.pk}/arbitrate/", {"notes": "accept all"})
    assert response.status_code == 403
    dispute.refresh_from_db()
    assert dispute.status == "open"


def test_no_staff_group_may_edit_the_ledger_or_decisions_directly():
    """Append-only records are never editable in admin, by any group: changes go through the
    services (adjustments, QA, arbitration) only."""
    from django.contrib.auth.models import Group

    forbidden = re.compile(
        r"^(wallet\.(add|change|delete)_(transfer|account|hold)|orders\.(change|delete)_qadecision|"
        r"disputes\.(change|delete)_evidenceitem|providers\.(change|delete)_providercall)$"
    )
    for group in Group.objects.filter(name__in=["ops_qa", "ops_arbitration", "finance"]):
        perms = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}
        assert not [p for p in perms if forbidden.match(p)], (group.name, sorted(perms))
    finance = {p.codename for p in Group.objects.get(name="finance").permissions.all()}
    assert "add_qadecision" not in finance
    qa = {p.codename for p in Group.objects.get(name="ops_qa").permissions.all()}
    assert "post_adjustment" not in qa and "add_qadecision" in qa
