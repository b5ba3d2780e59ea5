"""Feature switches (django-waffle). Created with their defaults by core migration 0001."""

from waffle import switch_is_active

QA_GATE_LIST = "qa_gate_list"
QA_GATE_MQL = "qa_gate_mql"
EMAIL_SENDING = "email_sending"
PROVIDER_ROCKETREACH = "provider_rocketreach"
PROVIDER_FALLBACK = "provider_fallback"
STRIPE_TOPUPS = "stripe_topups"

# name -> (default, description)
SWITCHES = {
    QA_GATE_LIST: (True, "Orders wait for a human QA#1 decision (off: automatic pass recorded as system)."),
    QA_GATE_MQL: (True, "MQL orders wait for a human QA#2 decision (off: automatic pass recorded as system)."),
    EMAIL_SENDING: (True, "Nurture emails are delivered (off: rendered and recorded as not sent)."),
    PROVIDER_ROCKETREACH: (False, "Build lists from RocketReach (off: sandbox/fallback providers only)."),
    PROVIDER_FALLBACK: (False, "When the primary provider's breaker is open, continue on the fallback provider."),
    STRIPE_TOPUPS: (True, "Clients can buy credits."),
}


def is_on(name: str) -> bool:
    return switch_is_active(name)
