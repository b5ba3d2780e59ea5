from django.core.management.base import BaseCommand, CommandError

from orders.models import Order, OrderType
from qualification import services


class Command(BaseCommand):
    help = (
        "Recompute the scores of an MQL order's leads from their stored events and rules version. "
        "Prints the qualified count and a checksum (identical on every run with the same data)."
    )

    def add_arguments(self, parser):
        parser.add_argument("order", type=int, help="order id")

    def handle(self, *args, **options):
        order = Order.objects.select_related("rules_version").filter(pk=options["order"]).first()
        if order is None:
            raise CommandError(f"No order #{options['order']}.")
        if order.type != OrderType.MQL:
            raise CommandError(f"Order #{order.pk} is not an MQL order.")
        summary = services.rescore(order=order)
        self.stdout.write(f"order={order.pk} status={order.status} leads={summary.leads} qualified={summary.qualified}")
        self.stdout.write(f"checksum={summary.checksum}")
        if not summary.written:
            self.stdout.write(
                f"decided order: nothing written; {summary.mismatches} lead(s) differ from the stored decision"
            )
