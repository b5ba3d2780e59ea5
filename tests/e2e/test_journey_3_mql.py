"""Journey 3: an MQL order through nurture (emails visible in the demo outbox), simulated
engagement (signed SendCloud webhooks and "interested" clicks), QA#2 in admin, and the
client's qualification report with its chart."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import (
    CLIENT,
    manage,
    mobile_shot,
    place_order,
    sign_in,
    staff_pass_list_qa,
    staff_sign_in,
    top_up,
    wait_for_order_status,
    wait_until,
)

pytestmark = pytest.mark.e2e


def test_mql_order_nurture_engagement_qa2_and_report(journey, e2e_server):
    env = e2e_server["env"]
    j = journey("03-mql-client")
    page = j.page
    sign_in(j, *CLIENT)
    j.go("/wallet/")
    top_up(j, 200)

    order_id = place_order(j, type_="mql", target=12, titles="Marketing Director, CMO", countries=("US",))
    expect(page.locator("main h1 .badge")).to_have_text("In quality review", timeout=60_000)
    expect(page.locator("main")).to_contain_text("MQL orders are charged only for qualified leads")
    j.shot("mql order built")

    ops = journey("03-mql-ops")
    staff_sign_in(ops)
    staff_pass_list_qa(ops, order_id)
    ops.shot("qa#1 passed, nurturing")

    # Nurture emails land in the demo outbox (a day of the sequence lasts a few seconds here).
    assert wait_for_order_status(j, order_id, "nurturing", timeout=20) == "nurturing"
    outbox = journey("03-outbox")
    outbox.go("/outbox/")
    rows = outbox.page.locator("tbody tr")
    wait_until(
        lambda: (outbox.page.reload() or True) and rows.count() >= 12 and "No emails" not in rows.first.inner_text(),
        timeout=30,
        what="nurture emails in the outbox",
    )
    outbox.shot("outbox with nurture emails")
    out = manage(env, "simulate_engagement", str(order_id), "--seed", "3")
    assert re.search(r"deliver=\d+", out), out
    rows.first.get_by_role("link").click()
    expect(outbox.page.locator("main .mail-body")).to_contain_text("interested")
    outbox.shot("a nurture email")

    j.go(f"/orders/{order_id}/")
    expect(page.locator("#review-note")).to_contain_text("nurture emails")
    j.shot("order while nurturing")

    # The nurture window ends (10 demo days); QA#2 in admin.
    wait_for_order_status(j, order_id, "mql_qa", timeout=90)
    j.shot("order in qualification review")
    ops.go("/admin/qualification/mqlreview/")
    ops.shot("qa#2 list")
    ops.page.locator("#result_list a", has_text=str(order_id)).first.click()
    expect(ops.page.locator("#content-main")).to_contain_text(f"Order #{order_id}")
    expect(ops.page.locator("svg.chart")).to_be_visible()
    ops.shot("qa#2 review with chart")
    ops.page.check("input[name=decision][value=pass]")
    ops.page.fill("textarea[name=notes]", "Engagement looks genuine.")
    ops.page.locator("input[type=submit][value='Record decision']").click()
    expect(ops.page.locator(".messagelist")).to_contain_text(f"Order #{order_id}: Delivered")
    ops.shot("qa#2 passed")

    # The client's report: summary, chart and the per-lead breakdown.
    j.go(f"/orders/{order_id}/")
    expect(page.locator("main h1 .badge")).to_have_text("Delivered")
    j.shot("mql order delivered")
    page.get_by_role("link", name="Qualification report").click()
    expect(page).to_have_url(re.compile(rf"/orders/{order_id}/report/"))
    chart = page.locator("svg.chart")
    expect(chart).to_be_visible()
    assert chart.locator("rect").count() >= 3
    expect(page.locator("main")).to_contain_text("Score distribution")
    j.shot("qualification report")
    mobile_shot(j, f"/orders/{order_id}/report/", "qualification report")
