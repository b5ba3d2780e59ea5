"""Demo engagement: which events a seed produces for an order's emails, and SendCloud-style
signed webhook bodies for them. Used by ``simulate_engagement`` and the demo seeder."""

import json
import random
import secrets

from django.conf import settings

from qualification import sendcloud


def plan(messages, rng: random.Random) -> list[tuple[str, object]]:
    """The events to post, chosen per lead from the seed: about a third engage strongly
    (opens and clicks, some confirm interest), a third only open, the rest stay silent;
    the first silent lead unsubscribes. Every sent email gets a ``deliver``."""
    by_lead: dict[int, list] = {}
    for message in messages:
        by_lead.setdefault(message.lead_id, []).append(message)
    events = [("deliver", m) for m in messages]
    unsubscribed = False
    for _lead_id, lead_messages in sorted(by_lead.items()):
        roll = rng.random()
        if roll < 0.35:
            for _ in range(rng.randint(1, 4)):
                events.append(("open", rng.choice(lead_messages)))
            for _ in range(rng.randint(1, 2)):
                events.append(("click", rng.choice(lead_messages)))
            if rng.random() < 0.4:
                events.append(("interested", rng.choice(lead_messages)))
        elif roll < 0.65:
            for _ in range(rng.randint(1, 3)):
                events.append(("open", rng.choice(lead_messages)))
        elif not unsubscribed:
            events.append(("unsubscribe", lead_messages[0]))
            unsubscribed = True
    return events


def webhook_form(kind: str, message, *, timestamp: str | None = None) -> dict:
    """A correctly signed SendCloud event (13-digit ms timestamp, fresh 50-char token)."""
    timestamp = timestamp or sendcloud.now_ms()
    token = secrets.token_hex(25)
    data = {
        "event": kind,
        "emailId": message.sendcloud_email_id or "",
        "recipient": message.to_email,
        "timestamp": timestamp,
        "token": token,
        "signature": sendcloud.signature(timestamp=timestamp, token=token),
        "labelId": "0",
        "userHeaders": json.dumps({"SC-Custom-Message-Id": str(message.message_id)}),
    }
    if kind in ("open", "click", "unsubscribe"):
        data.update({"ip": "203.0.113.7", "explorerName": "Chrome", "oSName": "macOS"})
    if kind == "click":
        data["url"] = settings.SITE_URL.rstrip("/") + "/"
    return data
