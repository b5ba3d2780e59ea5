"""Journey 5: the client's journey in 简体中文, switching language with the nav select. Each
page is rendered in English and in Chinese; an alphabetic English word that appears in both
renderings is an untranslated string, unless it is data (names, companies, titles, emails,
what the client typed) or a code such as CSV, MQL or a brand."""

import csv
import io
import json
import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import (
    available_credits,
    mobile_shot,
    place_order,
    shell,
    staff_pass_list_qa,
    staff_sign_in,
    wait_until,
)

pytestmark = pytest.mark.e2e
PASSWORD = "Zhongwen-pass-2026!"

ALLOWED = {
    "SoloSales", "English", "CSV", "XLSX", "Excel", "API", "MQL", "ID", "PNG", "JPEG", "PDF", "CNY", "UTC",
    "QA", "sha", "hash", "MB", "CRM", "IT", "C", "Stripe", "SendCloud", "LinkedIn", "Ctrl", "Mac",
    "Asia", "Shanghai", "v", "Checkout",  # "Stripe Checkout", a product name
}  # fmt: skip
WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]|[A-Za-z]")
NOISE = re.compile(r"\S+@\S+|https?://\S+|\b(?:image|text|application)/[\w.+-]+|\b[\w.-]+\.(?:com|org|net|io|de|co|example|png)\b|\b[0-9a-f]{8,}\b")

DATA_SQL = """
import json
from django.contrib.auth import get_user_model
from orders.models import Lead, Order
from disputes.models import Dispute, DisputeItem, EvidenceItem
u = get_user_model().objects.get(email={email!r})
words = [u.name, u.company]
for lead in Lead.objects.filter(order__user=u):
    words += [lead.full_name, lead.title, lead.company, lead.company_domain, lead.city, lead.region,
              lead.industry, lead.department, lead.seniority, lead.invalid_reason or ""]
for order in Order.objects.filter(user=u):
    for values in (order.criteria or {{}}).values():
        words += [str(v) for v in (values if isinstance(values, list) else [values])]
for d in Dispute.objects.filter(user=u):
    words += [d.statement, d.decision_notes or ""]
for item in DisputeItem.objects.filter(dispute__user=u):
    words += [item.note, item.decision_notes]
for ev in EvidenceItem.objects.filter(dispute__user=u):
    words += [ev.text or "", ev.file_name or ""]
print(json.dumps(words))
"""


def words(text: str) -> set[str]:
    return set(WORD.findall(NOISE.sub(" ", text)))


# Code samples, monospaced data and the list of time-zone names are not UI strings.
SKIP = "code, pre, kbd, .mono, select[name=timezone]"


def visible_text(page) -> str:
    main = page.evaluate(
        """(skip) => { const m = document.querySelector("main").cloneNode(true);
        m.querySelectorAll(skip).forEach((el) => el.remove()); document.body.appendChild(m);
        const text = m.innerText; m.remove(); return text; }""",
        SKIP,
    )
    return page.inner_text("header nav") + "\n" + main


def set_language(page, code):
    page.select_option("#lang-select", code)
    page.wait_for_load_state()
    expect(page.locator("html")).to_have_attribute("lang", code)


class Checker:
    def __init__(self, j, data_words):
        self.j = j
        self.data = data_words
        self.problems: dict[str, list[str]] = {}

    def check(self, path, label, *, ready=None):
        """English rendering, then Chinese via the nav select; records untranslated words."""
        page = self.j.page
        self.j.go(path)
        if page.locator("html").get_attribute("lang") != "en":
            set_language(page, "en")
        if ready:
            ready()
        english = words(visible_text(page))
        set_language(page, "zh-hans")
        if ready:
            ready()
        chinese_text = visible_text(page)
        assert re.search(r"[\u4e00-\u9fff]", chinese_text), f"{path}: no Chinese on the page"
        self.j.shot(f"zh {label}")
        left = sorted(w for w in words(chinese_text) & english if w not in ALLOWED and w not in self.data)
        if left:
            self.problems[path] = left
        return chinese_text


def test_the_journey_in_simplified_chinese_has_no_untranslated_strings(journey, e2e_server):
    """Journey 1 (and 2) in Chinese: a new client signs up, verifies by the captured email,
    tops up through the test checkout, places a list order and watches it build; staff pass
    QA#1; the client downloads the CSV and opens the dispute form. Every page the client
    sees on the way is checked for untranslated strings."""
    j = journey("05-zh", locale="zh-CN")
    page = j.page
    checker = Checker(j, set())
    email = f"li.{uuid.uuid4().hex[:8]}@example.cn"

    checker.check("/accounts/login/", "sign in")
    checker.check("/accounts/signup/", "sign up")
    # Sign up in Chinese.
    j.go("/accounts/signup/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.fill("input[name=email]", email)
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.locator("main form button[type=submit]").last.click()
    page.wait_for_load_state()
    assert re.search(r"[\u4e00-\u9fff]", page.inner_text("main")), "the verification notice is not in Chinese"
    j.shot("zh verification sent")

    # The confirmation email, in Chinese, from the demo outbox; confirm the address.
    j.go("/outbox/")
    page.locator("tbody tr", has_text=email).first.get_by_role("link").click()
    mail = page.inner_text("main")
    assert email in mail and re.search(r"[\u4e00-\u9fff]", mail), "the confirmation email is not in Chinese"
    j.shot("zh confirmation email")
    confirm = page.locator("main a[href*='/accounts/confirm-email/']").first.get_attribute("href")
    checker.check(confirm.removeprefix(e2e_server["base_url"]), "confirm email")
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    if not page.locator("header .nav-user").count():
        page.fill("input[name=login]", email)
        page.fill("input[name=password]", PASSWORD)
        page.locator("main form button[type=submit]").last.click()
    expect(page.locator("header .nav-user")).to_have_text(email)

    # Top up (the test checkout checked too) and order, in Chinese.
    j.go("/wallet/")
    expect(page.locator("main h1")).to_have_text("钱包")
    page.fill("input[name=credits]", "60")
    page.get_by_role("button", name=re.compile("继续付款|前往支付|付款")).click()
    expect(page).to_have_url(re.compile(r"/wallet/test-checkout/\d+/"))
    checker.check(page.url.removeprefix(e2e_server["base_url"]), "test checkout")
    page.locator("button[name=action][value=pay]").click()
    page.wait_for_load_state()
    wait_until(lambda: available_credits(j) == 60, timeout=30, what="the top-up credited")
    order_id = place_order(j, type_="list", target=10, titles="Head of Sales", countries=("US",))
    expect(page.locator("main h1 .badge")).to_contain_text("质检中", timeout=60_000)
    j.shot("zh order in review")
    checker.check(f"/orders/{order_id}/", "order in review")

    # Staff pass QA#1 (the admin is the ops team's, in English); the client gets the list.
    ops = journey("05-zh-ops")
    staff_sign_in(ops)
    staff_pass_list_qa(ops, order_id, shot=False)
    j.go(f"/orders/{order_id}/")
    expect(page.locator("main h1 [data-status]")).to_have_attribute("data-status", "delivered", timeout=30_000)
    with page.expect_download() as info:
        page.locator("main a[href$='download.csv'], main a[href*='/download/csv']").first.click()
    with open(info.value.path(), encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(io.StringIO(fh.read())))
    assert len(rows) == 10 and all(r["email"] for r in rows)
    j.shot("zh delivered order")

    data = json.loads(shell(e2e_server["env"], DATA_SQL.format(email=email)).strip().splitlines()[-1])
    checker.data = words(" ".join(data)) | {email} | words(email.replace("@", " ").replace(".", " "))
    checker.problems = {p: [w for w in found if w not in checker.data] for p, found in checker.problems.items()}
    checker.problems = {p: found for p, found in checker.problems.items() if found}

    checker.check(f"/orders/{order_id}/", "delivered order")
    checker.check(f"/disputes/new/{order_id}/", "new dispute")
    checker.check("/dashboard/", "dashboard")
    checker.check("/wallet/", "wallet")
    checker.check("/orders/", "orders")
    checker.check("/orders/new/", "new order")
    checker.check(f"/orders/{order_id}/", "order in review")

    # A delivered order, its leads and disputes (from the earlier journeys when run together).
    j.go("/orders/?status=delivered")
    delivered = page.locator("main tbody a[href*='/orders/']")
    if delivered.count():
        href = delivered.first.get_attribute("href")
        checker.check(href, "delivered order")
        delivered_id = re.search(r"/orders/(\d+)/", href).group(1)
        checker.check(f"/disputes/new/{delivered_id}/", "new dispute")
    checker.check("/disputes/", "disputes")
    j.go("/disputes/")
    disputes = page.locator("main tbody a[href*='/disputes/']")
    if disputes.count():
        checker.check(disputes.first.get_attribute("href"), "dispute")
    j.go("/orders/?type=mql")
    mql = page.locator("main tbody a[href*='/orders/']")
    if mql.count():
        mql_id = re.search(r"/orders/(\d+)/", mql.first.get_attribute("href")).group(1)
        j.go(f"/orders/{mql_id}/report/")
        if page.locator("svg.chart").count():
            checker.check(f"/orders/{mql_id}/report/", "qualification report")
    checker.check("/settings/tokens/", "api tokens")
    checker.check("/settings/preferences/", "preferences")

    set_language(page, "zh-hans")
    mobile_shot(j, f"/orders/{order_id}/", "zh order")
    assert not checker.problems, "untranslated strings:\n" + "\n".join(
        f"{path}: {', '.join(found)}" for path, found in checker.problems.items()
    )
