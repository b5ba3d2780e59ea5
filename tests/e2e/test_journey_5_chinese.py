"""Journey 5: the client's journey in 简体中文, switching language with the nav select. Each
page is rendered in English and in Chinese; an alphabetic English word that appears in both
renderings is an untranslated string, unless it is data (names, companies, titles, emails,
what the client typed) or a code such as CSV, MQL or a brand."""

import json
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import CLIENT, mobile_shot, place_order, shell, top_up

pytestmark = pytest.mark.e2e

ALLOWED = {
    "SoloSales", "English", "CSV", "XLSX", "Excel", "API", "MQL", "ID", "PNG", "JPEG", "PDF", "CNY", "UTC",
    "QA", "sha", "hash", "MB", "CRM", "IT", "C", "Stripe", "SendCloud", "LinkedIn", "Ctrl", "Mac",
    "Asia", "Shanghai", "v",
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
    j = journey("05-zh", locale="zh-CN")
    page = j.page
    checker = Checker(j, set())

    checker.check("/accounts/login/", "sign in")
    checker.check("/accounts/signup/", "sign up")
    j.go("/accounts/login/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.fill("input[name=login]", CLIENT[0])
    page.fill("input[name=password]", CLIENT[1])
    page.locator("main form button[type=submit]").last.click()
    expect(page.locator("header .nav-user")).to_have_text(CLIENT[0])

    # Top up and order in Chinese.
    j.go("/wallet/")
    expect(page.locator("main h1")).to_have_text("钱包")
    top_up(j, 50, shot_prefix="zh top-up")
    order_id = place_order(j, type_="list", target=10, titles="Head of Sales", countries=("US",))
    expect(page.locator("main h1 .badge")).to_contain_text("质检中", timeout=60_000)
    j.shot("zh order in review")

    data = json.loads(shell(e2e_server["env"], DATA_SQL.format(email=CLIENT[0])).strip().splitlines()[-1])
    checker.data = words(" ".join(data)) | {CLIENT[0]}

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
