"""Rendering nurture emails in the client's language (English or Simplified Chinese)."""

import re
import uuid
from dataclasses import dataclass

from django.template.loader import render_to_string, select_template
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from qualification import links

LANGUAGES = ("en", "zh-hans")
_SAFE_KEY = re.compile(r"^[a-z0-9_]{1,40}$")

SUBJECTS = {
    "intro": _("%(sender)s × %(company)s: a quick introduction"),
    "value": _("An idea for %(company)s"),
    "last_call": _("Shall I close your file, %(first_name)s?"),
}
GENERIC_SUBJECT = _("A note for %(company)s")


@dataclass
class Rendered:
    subject: str
    html: str
    text: str


def language_for(order) -> str:
    lang = (getattr(order.user, "language", "") or "en").lower()
    return lang if lang in LANGUAGES else "en"


def sender_name(order) -> str:
    user = order.user
    return (user.company or user.name or "SoloSales").strip()[:100]


def render(*, order, lead, step: str, message_id: uuid.UUID, language: str) -> Rendered:
    first_name = (lead.first_name or (lead.full_name or "").split(" ")[0]).strip()
    with translation.override(language):
        context = {
            "language": language,
            "first_name": first_name or _("there"),
            "full_name": lead.full_name,
            "company": lead.company or _("your company"),
            "sender_name": sender_name(order),
            "interested_url": links.interested_url(message_id),
            "unsubscribe_url": links.unsubscribe_url(message_id),
            "step": step,
        }
        subject_template = SUBJECTS.get(step, GENERIC_SUBJECT)
        subject = str(subject_template) % {
            "sender": context["sender_name"],
            "company": context["company"],
            "first_name": context["first_name"],
        }
        context["subject"] = subject
        names = ["qualification/email/generic.html"]
        if _SAFE_KEY.match(step or ""):
            names.insert(0, f"qualification/email/{step}.html")
        html_template = select_template(names)
        text_name = html_template.template.name.removesuffix(".html") + ".txt"
        html = html_template.render(context)
        text = render_to_string(text_name, context)
    return Rendered(subject=" ".join(subject.split())[:300], html=html.strip(), text=text.strip() + "\n")
