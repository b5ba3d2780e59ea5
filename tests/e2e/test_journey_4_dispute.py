"""Journey 4: the client disputes two delivered leads with a screenshot; staff arbitrate in
admin, accepting one and rejecting one; the refund (1 × unit price) shows in the wallet."""

import re
import struct
import zlib

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import CLIENT, mobile_shot, place_order, sign_in, staff_pass_list_qa, staff_sign_in, top_up

pytestmark = pytest.mark.e2e

def make_png(width=120, height=40) -> bytes:
    """A small valid PNG (a red bar, like a cropped bounce screenshot), built with zlib."""
    raw = b"".join(b"\x00" + b"\xd0\x30\x30" * width for _ in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def test_dispute_with_file_arbitration_and_refund(journey, tmp_path):
    png = tmp_path / "bounce.png"
    png.write_bytes(make_png())

    j = journey("04-dispute-client")
    page = j.page
    sign_in(j, *CLIENT)
    j.go("/disputes/")
    j.shot("disputes list")
    j.go("/wallet/")
    top_up(j, 60)
    order_id = place_order(j, type_="list", target=10, titles="Founder", countries=("DE",))
    expect(page.locator("main h1 .badge")).to_have_text("In quality review", timeout=60_000)

    ops = journey("04-dispute-ops")
    staff_sign_in(ops)
    staff_pass_list_qa(ops, order_id, shot=False)

    j.go(f"/orders/{order_id}/")
    expect(page.locator("main h1 .badge")).to_have_text("Delivered")
    unit_price = int(page.locator("#credits-unit-price").inner_text())
    j.go("/wallet/")
    before = int(page.inner_text("#available-balance"))

    # Open a dispute on two leads with a file.
    j.go(f"/orders/{order_id}/")
    page.get_by_role("link", name="Dispute leads").click()
    expect(page.locator("main h1")).to_contain_text(f"order #{order_id}")
    boxes = page.locator("tbody input[type=checkbox][name=lead]")
    first_id = boxes.nth(0).get_attribute("value")
    second_id = boxes.nth(1).get_attribute("value")
    boxes.nth(0).check()
    page.select_option(f"#reason-{first_id}", "invalid_email")
    boxes.nth(1).check()
    page.select_option(f"#reason-{second_id}", "left_company")
    page.fill(f"#note-{second_id}", "LinkedIn shows a new employer since May.")
    page.fill("#statement", "The first address bounced (screenshot attached); the second person left the company.")
    page.set_input_files("#files", str(png))
    j.shot("dispute form")
    page.get_by_role("button", name="Open dispute").click()
    expect(page).to_have_url(re.compile(r"/disputes/\d+/$"))
    dispute_id = int(re.search(r"/disputes/(\d+)/$", page.url).group(1))
    expect(page.locator("main")).to_contain_text("bounce.png")
    j.shot("dispute opened")

    # Staff arbitrate: accept the first lead, reject the second.
    ops.go("/admin/")
    expect(ops.page.locator("#ops-disputes")).to_contain_text(f"#{dispute_id}")
    ops.shot("ops dashboard with the open dispute")
    ops.go("/admin/disputes/dispute/")
    ops.shot("disputes in admin")
    ops.go(f"/admin/disputes/dispute/{dispute_id}/arbitrate/")
    expect(ops.page.locator("#content-main")).to_contain_text("bounce.png")
    ops.page.check(f"input[name=decision_{first_id}][value=accepted]")
    ops.page.check(f"input[name=decision_{second_id}][value=rejected]")
    ops.page.fill(f"input[name=note_{second_id}]", "Still listed at the company on its website.")
    ops.page.fill("#notes", "One bounce confirmed; the second lead is still employed there.")
    ops.shot("arbitration")
    ops.page.locator("#decision-form button[value=decide]").click()
    expect(ops.page.locator(".messagelist")).to_be_visible()
    ops.shot("arbitration recorded")

    # The client sees the outcome and the refund.
    j.go(f"/disputes/{dispute_id}/")
    expect(page.locator("main")).to_contain_text("Partially accepted")
    j.shot("dispute outcome")
    j.go("/wallet/")
    expect(page.locator("#available-balance")).to_have_text(str(before + unit_price))
    expect(page.locator("main table").first).to_contain_text(f"dispute #{dispute_id}")
    j.shot("wallet with the refund")
    mobile_shot(j, f"/disputes/{dispute_id}/", "dispute detail")
