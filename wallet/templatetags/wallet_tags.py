from decimal import Decimal

from django import template
from django.utils.formats import number_format

register = template.Library()

# ISO 4217 currencies Stripe treats as zero-decimal (amounts are whole units).
ZERO_DECIMAL = {
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga",
    "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf",
}  # fmt: skip


@register.filter
def money(amount_minor, currency="cny"):
    """Minor units → a localised amount with its currency code, e.g. ``500.00 CNY``."""
    if amount_minor is None:
        return ""
    currency = (currency or "").lower()
    if currency in ZERO_DECIMAL:
        value, places = Decimal(int(amount_minor)), 0
    else:
        value, places = Decimal(int(amount_minor)) / 100, 2
    return f"{number_format(value, places, force_grouping=True)} {currency.upper()}"
