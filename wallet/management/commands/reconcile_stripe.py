from datetime import UTC, date, datetime, time, timedelta

import stripe
from django.core.management.base import BaseCommand, CommandError

from wallet import stripe_gateway
from wallet.reconcile import reconcile


def _parse_date(value: str, option: str) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(value), time.min, tzinfo=UTC)
    except ValueError:
        raise CommandError(f"{option} must be a date like 2026-12-01, not {value!r}", returncode=2)


class Command(BaseCommand):
    help = (
        "Compare top-ups with Stripe's sessions, refunds and disputes created in [--since, --until) "
        "(UTC dates; --until defaults to tomorrow). Exits 1 on any mismatch."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", required=True, help="first day, YYYY-MM-DD (UTC)")
        parser.add_argument("--until", help="day after the last one, YYYY-MM-DD (UTC); default: tomorrow")

    def handle(self, *args, **options):
        since = _parse_date(options["since"], "--since")
        until = (
            _parse_date(options["until"], "--until")
            if options.get("until")
            else datetime.combine(datetime.now(UTC).date() + timedelta(days=1), time.min, tzinfo=UTC)
        )
        if until <= since:
            raise CommandError("--until must be after --since", returncode=2)
        if not stripe_gateway.stripe_enabled():
            raise CommandError("STRIPE_SECRET_KEY is not set: there is no Stripe account to reconcile", returncode=2)
        try:
            result = reconcile(since, until)
        except stripe.StripeError as exc:
            raise CommandError(f"Stripe could not be read: {exc.user_message or exc}", returncode=2)
        self.stdout.write(
            f"reconcile_stripe {since.date()} .. {until.date()}: {result.sessions} sessions, "
            f"{result.refunds} refunds, {result.disputes} disputes"
        )
        if not result.mismatches:
            self.stdout.write(self.style.SUCCESS("  no mismatches"))
            return
        for line in result.mismatches:
            self.stdout.write(self.style.ERROR(f"  MISMATCH {line}"))
        self.stderr.write(f"reconcile_stripe: {len(result.mismatches)} mismatch(es)")
        raise SystemExit(1)
