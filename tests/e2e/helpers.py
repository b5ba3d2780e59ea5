"""Steps the journeys share: signing in, topping up, placing an order, staff decisions,
and the untranslated-string check. Each step asserts on what the page shows."""

import re
import subprocess
import sys
import time

from playwright.sync_api import expect

from tests.e2e.conftest import ROOT

CLIENT = ("demo@example.com", "demo-pass-2026")
STAFF = ("ops@example.com", "ops-pass-2026")


def sign_in(j, email, password, *, next_path=None):
    j.go("/accounts/login/" + (f"?next={next_path}" if next_path else ""))
    page = j.page
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.locator("main form button[type=submit], main form input[type=submit]").last.click()
    page.wait_for_load_state()
    expect(page.locator("header .nav-user")).to_have_text(email)


def staff_sign_in(j):
    """Staff go to /admin/ and are sent to the portal's login (rate-limited), then back."""
    j.go("/admin/")
    expect(j.page.locator("input[name=login]")).to_be_visible()
    j.page.fill("input[name=login]", STAFF[0])
    j.page.fill("input[name=password]", STAFF[1])
    j.page.locator("main form button[type=submit], main form input[type=submit]").last.click()
    j.page.wait_for_load_state()
    expect(j.page.locator("#user-tools")).to_contain_text("Log out")


def available_credits(j) -> int:
    j.go("/wallet/")
    return int(j.page.inner_text("#available-balance").strip())


def top_up(j, credits, *, shot_prefix="top-up"):
    """Buy credits through the local test checkout and wait until the wallet shows them."""
    page = j.page
    before = available_credits(j)
    page.fill("input[name=credits]", str(credits))
    page.get_by_role("button", name=re.compile("Continue to payment|继续付款|前往支付|付款")).click()
    expect(page).to_have_url(re.compile(r"/wallet/test-checkout/\d+/"))
    j.shot(f"{shot_prefix} test checkout")
    page.locator("button[name=action][value=pay]").click()
    page.wait_for_load_state()
    j.shot(f"{shot_prefix} after paying")
    deadline = time.monotonic() + 30
    while True:
        now = available_credits(j)
        if now == before + credits:
            break
        assert time.monotonic() < deadline, f"wallet shows {now}, expected {before + credits}"
        time.sleep(0.5)
    j.shot(f"{shot_prefix} wallet credited")
    return now


def place_order(j, *, type_="list", target=20, titles="Head of Sales", countries=("US",)):
    page = j.page
    j.go("/orders/new/")
    page.check(f"input[name=type][value={type_}]")
    page.fill("input[name=target_count]", str(target))
    page.fill("textarea[name=titles]", titles)
    if countries:
        page.select_option("select[name=countries]", list(countries))
    j.shot(f"new {type_} order form")
    page.locator("button[name=action][value=place]").click()
    expect(page).to_have_url(re.compile(r"/orders/\d+/$"))
    order_id = int(re.search(r"/orders/(\d+)/$", page.url).group(1))
    return order_id


def wait_for_status_text(j, text, timeout=60):
    """Waits, without reloading, until the page shows ``text`` (the page polls by itself)."""
    expect(j.page.locator("main")).to_contain_text(text, timeout=timeout * 1000)


def manage(env, *args, timeout=120) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def shell(env, code: str) -> str:
    return manage(env, "shell", "-c", code)


def mobile_shot(j, path, label):
    """One narrow-screen screenshot of ``path`` (375 px wide, like a phone)."""
    j.page.set_viewport_size({"width": 375, "height": 800})
    try:
        j.go(path)
        width = j.page.evaluate("document.documentElement.scrollWidth")
        j.shot(f"mobile {label}")
        assert width <= 380, f"{path} scrolls sideways on a phone ({width}px wide)"
    finally:
        j.page.set_viewport_size({"width": 1280, "height": 900})


def staff_pass_list_qa(ops, order_id, *, accepted=None, shot=True):
    """Staff open the QA queue, review the order and pass QA#1 (optionally accepting fewer)."""
    ops.go("/admin/orders/order/qa-queue/")
    row = ops.page.locator("#qa-queue tbody tr", has_text=f"#{order_id}")
    expect(row).to_be_visible(timeout=60_000)
    if shot:
        ops.shot("qa queue")
    row.get_by_role("link", name="Review").click()
    expect(ops.page.locator("#qa-checks")).to_be_visible()
    if shot:
        ops.shot("qa#1 review")
    if accepted is not None:
        ops.page.fill("#qa-decide input[name=accepted_count]", str(accepted))
    ops.page.locator("#qa-decide input[type=submit][value=Pass]").click()
    expect(ops.page.locator(".messagelist")).to_contain_text(f"Order #{order_id}:")


def wait_until(check, *, timeout=60, every=0.5, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(every)


def order_status(env, order_id) -> str:
    return shell(env, f"from orders.models import Order; print(Order.objects.get(pk={order_id}).status)").strip()


def wait_for_order_status(j, order_id, statuses, *, timeout=60):
    """Reloads the client's order page until its status badge shows one of ``statuses``."""
    statuses = (statuses,) if isinstance(statuses, str) else tuple(statuses)
    badge = j.page.locator("main h1 [data-status]")

    def shown():
        j.go(f"/orders/{order_id}/")
        return badge.get_attribute("data-status") in statuses

    wait_until(shown, timeout=timeout, every=1, what=f"order {order_id} in {statuses}")
    return badge.get_attribute("data-status")
