"""RQ entry points for the wallet: thin, take ids, call a service."""

from wallet.stripe_events import stripe_event_process, stripe_events_sweep


def stripe_event_process_job(event_pk: int) -> str:
    return stripe_event_process(event_pk=event_pk).status


def stripe_events_sweep_job() -> int:
    return stripe_events_sweep()
