"""Demo data: one dispute on two leads of the demo client's delivered order (idempotent)."""

import struct
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone


def tiny_png(width: int = 8, height: int = 8, rgb=(220, 60, 60)) -> bytes:
    """A small valid PNG (a solid square), built without an imaging library."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    row = b"\x00" + bytes(rgb) * width
    raw = row * height
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def seed_demo_dispute(*, client, staff, stdout=None):
    from disputes.models import Dispute, DisputeItem
    from disputes.selectors import dispute_window_ends_at
    from disputes.services import dispute_open
    from orders.models import Order, OrderStatus

    if Dispute.objects.filter(user=client).exists():
        return None
    now = timezone.now()
    for order in Order.objects.filter(user=client, status=OrderStatus.DELIVERED).order_by("-id"):
        ends = dispute_window_ends_at(order)
        if ends is None or now > ends:
            continue
        leads = list(order.leads.filter(delivered=True).exclude(dispute_items__isnull=False).order_by("id")[:2])
        if len(leads) < 2 or DisputeItem.objects.filter(lead__order=order).exists():
            continue
        return dispute_open(
            user=client,
            order=order,
            items=[
                {"lead": leads[0], "reason": "invalid_email", "note": "The address bounced on our first email."},
                {"lead": leads[1], "reason": "left_company", "note": "LinkedIn shows a new employer since last year."},
            ],
            statement="Two of the delivered contacts are not usable; screenshot of the bounce attached.",
            files=[SimpleUploadedFile("bounce.png", tiny_png(), content_type="image/png")],
        )
    return None
