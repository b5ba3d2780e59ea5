"""Journeys 1 and 2: a new client signs up, verifies by the captured email, signs in, tops up
through the test checkout, places a list order and watches it build without reloading; staff
pass QA#1 in admin; the client downloads the CSV."""

import csv
import io
import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import mobile_shot, place_order, sign_in, staff_sign_in, top_up

pytestmark = pytest.mark.e2e

STATE: dict = {}
PASSWORD = "Journey-pass-2026!"


def test_client_signs_up_tops_up_and_orders(journey):
    j = journey("01-list-order-client")
    page = j.page
    email = f"ana.{uuid.uuid4().hex[:8]}@example.org"

    # Sign up.
    j.go("/")
    j.shot("home")
    page.locator("header").get_by_role("link", name="Sign up").click()
    expect(page.locator("main h1")).to_be_visible()
    page.fill("input[name=email]", email)
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    j.shot("sign-up form")
    page.locator("main form button[type=submit]").last.click()
    expect(page.locator("main")).to_contain_text("Verify Your Email Address")
    j.shot("verification sent")

    # The confirmation email is in the demo outbox; follow its link and confirm.
    j.go("/outbox/")
    row = page.locator("tbody tr", has_text=email).first
    expect(row).to_contain_text("Confirm")
    j.shot("outbox")
    row.get_by_role("link").click()
    expect(page.locator("main")).to_contain_text(email)
    j.shot("confirmation email")
    page.locator("main a[href*='/accounts/confirm-email/']").first.click()
    expect(page.locator("main")).to_contain_text(email)
    j.shot("confirm email page")
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()
    j.shot("after confirming")

    # Sign out and in again with the new account.
    if page.locator("header .nav-user").count():
        page.locator("header").get_by_role("button", name="Sign out").click()
        page.wait_for_load_state()
    sign_in(j, email, PASSWORD)
    expect(page.locator("header nav a[aria-current=page]")).to_have_text("Dashboard")
    expect(page.locator("main")).to_contain_text("No orders yet")
    j.shot("dashboard of a new client")

    # An empty wallet says what to do; top up through the test checkout.
    j.go("/wallet/")
    expect(page.locator("main")).to_contain_text("No movements yet")
    j.shot("empty wallet")
    assert top_up(j, 100) == 100

    # Place a list order and watch it build on the same page (no reload).
    order_id = place_order(j, type_="list", target=20, titles="Head of Sales, VP Sales", countries=("US", "GB"))
    page.evaluate("window.__sameDocument = true")
    expect(page.locator("main .alert-success")).to_contain_text(f"Order #{order_id} placed")
    j.shot("order placed")
    progress = page.locator("#order-progress")
    expect(progress.locator("[data-field=found]").first).to_have_text("20", timeout=60_000)
    expect(progress).to_contain_text("In quality review", timeout=30_000)
    assert page.evaluate("window.__sameDocument === true"), "the order page reloaded itself"
    j.shot("order built, waiting for quality review")
    expect(page.locator("main h1 .badge")).to_contain_text("In quality review")
    page.reload()
    expect(page.locator("main")).to_contain_text("Building list")  # timeline
    expect(page.locator("#order-progress progress")).to_have_attribute("value", "100")
    j.shot("order timeline")

    j.go("/wallet/")
    expect(page.locator("#held-balance")).to_have_text("20")
    expect(page.locator("#available-balance")).to_have_text("80")
    j.shot("wallet with a hold")

    mobile_shot(j, f"/orders/{order_id}/", "order detail")
    STATE.update(email=email, order_id=order_id)


def test_staff_passes_qa1_and_client_downloads_csv(journey):
    assert STATE, "the previous journey (sign-up, top-up, order) did not finish: its failure says why"
    order_id = STATE["order_id"]

    ops = journey("02-list-order-qa")
    staff_sign_in(ops)
    # The ops dashboard on the admin index: the order waits at QA#1.
    expect(ops.page.locator("#ops-list_qa")).to_contain_text(f"#{order_id}")
    ops.shot("admin home with the ops dashboard")
    # The order's admin page links to everything recorded about it; every link works.
    ops.go(f"/admin/orders/order/{order_id}/change/")
    links = ops.page.locator(".object-tools a")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert any("providercall" in h for h in hrefs) and any("transfer" in h for h in hrefs), hrefs
    ops.shot("order in admin")
    for href in hrefs:
        if "?" in href:
            ops.go(href)
            assert "e=1" not in ops.page.url, href
            expect(ops.page.locator("#changelist")).to_be_visible()
    ops.go(next(h for h in hrefs if "providercall" in h))
    expect(ops.page.locator("#result_list tbody tr").first).to_be_visible()
    ops.shot("provider calls of the order")
    ops.go("/admin/orders/order/qa-queue/")
    row = ops.page.locator("#qa-queue tbody tr", has_text=f"#{order_id}")
    expect(row).to_contain_text(STATE["email"])
    ops.shot("qa queue")
    row.get_by_role("link", name="Review").click()
    expect(ops.page.locator("#qa-checks")).to_be_visible()
    expect(ops.page.locator("#qa-decide input[name=accepted_count]")).to_have_value("20")
    ops.shot("qa review")
    ops.page.fill("#qa-decide input[name=accepted_count]", "18")
    ops.page.locator("#qa-decide input[type=submit][value=Pass]").click()
    expect(ops.page.locator(".messagelist")).to_contain_text(f"Order #{order_id}: Delivered")
    ops.shot("qa passed")

    j = journey("02-list-order-client-download")
    sign_in(j, STATE["email"], PASSWORD)
    j.go(f"/orders/{order_id}/")
    expect(j.page.locator("main h1 .badge")).to_have_text("Delivered")
    expect(j.page.locator("main")).to_contain_text("Your leads")
    j.shot("delivered order")
    with j.page.expect_download() as info:
        j.page.get_by_role("link", name="Download CSV").click()
    download = info.value
    assert re.search(r"\.csv$", download.suggested_filename)
    with open(download.path(), encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(io.StringIO(fh.read())))
    assert len(rows) == 18, len(rows)
    assert all(r.get("email") or r.get("Email") for r in rows)
    j.go("/wallet/")
    expect(j.page.locator("#held-balance")).to_have_text("0")
    expect(j.page.locator("#available-balance")).to_have_text("82")
    j.shot("wallet after capture")
    mobile_shot(j, "/wallet/", "wallet")
