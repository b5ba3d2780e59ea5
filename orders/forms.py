"""The new-order form: turns what a person types into the order body the services take.

Vocabulary checks, bounds and pricing live in orders.criteria / orders.services (one
validator for the form and the API); the form only parses text into lists and numbers and
maps the services' per-field errors back onto its inputs.
"""

import re
import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from orders import criteria as vocab
from orders.models import OrderType

_SPLIT = re.compile(r"[,\n\r，;；]+")

TEXT_LIST_FIELDS = ("titles", "keywords", "regions", "exclude_companies", "exclude_domains")
CHOICE_LIST_FIELDS = ("seniorities", "departments", "industries", "company_sizes", "countries")
CRITERIA_FIELDS = TEXT_LIST_FIELDS + CHOICE_LIST_FIELDS


def split_list(text: str) -> list[str]:
    """Comma-, semicolon- or newline-separated text (also the Chinese comma) as a list."""
    return [part.strip() for part in _SPLIT.split(text or "") if part.strip()]


def _countries_by_name():
    """Countries sorted by their name in the active language (evaluated per render)."""
    return sorted(vocab.COUNTRIES, key=lambda choice: str(choice[1]).casefold())


class _TextList(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 2})

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", _("Separate values with commas or new lines."))
        super().__init__(**kwargs)

    def to_python(self, value):
        return split_list(super().to_python(value))


class OrderForm(forms.Form):
    type = forms.ChoiceField(
        label=_("Order type"), choices=OrderType.choices, initial=OrderType.LIST, widget=forms.RadioSelect
    )
    target_count = forms.IntegerField(
        label=_("How many leads"),
        initial=100,
        help_text=_("You are charged only for leads that pass quality review (MQL: only qualified leads)."),
    )
    titles = _TextList(label=vocab.CRITERIA_LABELS["titles"], widget=forms.Textarea(attrs={"rows": 2}))
    seniorities = forms.MultipleChoiceField(
        label=vocab.CRITERIA_LABELS["seniorities"],
        choices=vocab.SENIORITIES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    departments = forms.MultipleChoiceField(
        label=vocab.CRITERIA_LABELS["departments"],
        choices=vocab.DEPARTMENTS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    industries = forms.MultipleChoiceField(
        label=vocab.CRITERIA_LABELS["industries"],
        choices=vocab.INDUSTRIES,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text=_("Hold Ctrl (⌘ on a Mac) to choose several."),
    )
    countries = forms.MultipleChoiceField(
        label=vocab.CRITERIA_LABELS["countries"],
        choices=_countries_by_name,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text=_("Hold Ctrl (⌘ on a Mac) to choose several."),
    )
    regions = _TextList(label=vocab.CRITERIA_LABELS["regions"], widget=forms.Textarea(attrs={"rows": 2}))
    company_sizes = forms.MultipleChoiceField(
        label=vocab.CRITERIA_LABELS["company_sizes"],
        choices=vocab.COMPANY_SIZES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    keywords = _TextList(label=vocab.CRITERIA_LABELS["keywords"], widget=forms.Textarea(attrs={"rows": 2}))
    exclude_companies = _TextList(
        label=vocab.CRITERIA_LABELS["exclude_companies"], widget=forms.Textarea(attrs={"rows": 2})
    )
    exclude_domains = _TextList(
        label=vocab.CRITERIA_LABELS["exclude_domains"],
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Domains such as example.com, separated by commas or new lines."),
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=200)

    def __init__(self, *args, pricing=None, **kwargs):
        kwargs.setdefault("initial", {})
        # A fresh key per rendered form: submitting this form twice places one order.
        kwargs["initial"].setdefault("idempotency_key", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)
        if pricing is not None:
            attrs = self.fields["target_count"].widget.attrs
            attrs["min"], attrs["max"] = pricing.min_order_size, pricing.max_order_size

    def renew_key(self) -> None:
        """Re-rendering a submitted form (errors, quote preview) gives it a fresh key, so the
        next submit is a new attempt; the errors already found stay."""
        self.data = self.data.copy()
        self.data["idempotency_key"] = uuid.uuid4().hex

    def order_data(self) -> dict:
        """The order body (as the API takes it) from the cleaned form."""
        data = self.cleaned_data
        return {
            "type": data["type"],
            "target_count": data["target_count"],
            "criteria": {key: data.get(key) or [] for key in CRITERIA_FIELDS},
        }

    def add_service_errors(self, fields: dict) -> None:
        """Per-field messages from ValidationFailed.extra["fields"] onto the matching inputs."""
        for name, messages in fields.items():
            target = name if name in self.fields else None
            for message in messages if isinstance(messages, list | tuple) else [messages]:
                self.add_error(target, str(message))
