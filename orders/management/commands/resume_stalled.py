from django.core.management.base import BaseCommand

from orders.pipeline import stalled_steps, sweep


class Command(BaseCommand):
    help = (
        "Re-enqueue order pipeline steps that should be running but have no live job "
        "(worker killed, enqueue lost, scheduled retry lost)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="List the stalled steps without enqueueing.")
        parser.add_argument(
            "--grace", type=int, default=None, help="Seconds a pending/waiting step may sit before it counts as lost."
        )

    def handle(self, *args, **options):
        grace = options["grace"]
        if grace is not None and grace < 0:
            self.stderr.write("--grace must be zero or more")
            raise SystemExit(2)
        if options["dry_run"]:
            for step in stalled_steps(pending_grace=grace).select_related("order"):
                self.stdout.write(f"step {step.pk} order #{step.order_id} {step.name} {step.status}")
            return
        count = sweep(pending_grace=grace)
        self.stdout.write(f"re-enqueued {count} stalled step(s)")
