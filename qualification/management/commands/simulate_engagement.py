"""Demo: engagement for an order's nurture emails, posted as correctly signed SendCloud
webhook events (form-encoded, 13-digit millisecond timestamps, fresh 50-character tokens) to
the real webhook URL, plus a few "yes, I'm interested" clicks on the tracked links."""

import random
import time
from collections import Counter
from urllib.parse import urlencode, urlsplit

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from orders.models import Order
from qualification import links, simulation
from qualification.models import EmailMessage


class Command(BaseCommand):
    help = "Post signed SendCloud events (deliver, opens, clicks, one unsubscribe) and interest confirmations."

    def add_arguments(self, parser):
        parser.add_argument("order", type=int)
        parser.add_argument("--seed", type=int, default=1, help="chooses which leads engage (deterministic)")
        parser.add_argument("--in-process", action="store_true", help="use Django's test client, not HTTP")
        parser.add_argument("--site-url", default=None, help="default: SITE_URL")

    def handle(self, *args, **options):
        order = Order.objects.filter(pk=options["order"]).first()
        if order is None:
            raise CommandError(f"No order #{options['order']}.")
        messages = list(
            EmailMessage.objects.filter(order=order, status=EmailMessage.Status.SENT)
            .exclude(sendcloud_email_id=None)
            .order_by("lead_id", "id")
        )
        if not messages:
            raise CommandError(f"Order #{order.pk} has no sent nurture emails yet.")
        self.base = (options["site_url"] or settings.SITE_URL).rstrip("/")
        self.in_process = options["in_process"]
        if self.in_process:
            from django.test import Client

            self.client = Client()
        self.statuses = Counter()
        plan = simulation.plan(messages, random.Random(options["seed"]))
        for kind, message in plan:
            if kind == "interested":
                self.post_form(urlsplit(links.interested_url(message.message_id)).path, {})
            else:
                self.post_event(kind, message)
        kinds = Counter(kind for kind, _ in plan)
        self.stdout.write(f"order {order.pk}: " + ", ".join(f"{k}={v}" for k, v in sorted(kinds.items())))
        self.stdout.write("responses: " + ", ".join(f"{k}={v}" for k, v in sorted(self.statuses.items())))

    def post_event(self, kind, message):
        self.post_form(reverse("sendcloud-webhook"), simulation.webhook_form(kind, message))
        time.sleep(0.002)  # distinct millisecond timestamps for repeated opens

    def post_form(self, path, data):
        body = urlencode(data)
        content_type = "application/x-www-form-urlencoded"
        if self.in_process:
            status = self.client.post(path, data=body, content_type=content_type).status_code
        else:
            try:
                response = requests.post(
                    self.base + path, data=body, headers={"Content-Type": content_type}, timeout=(3, 10)
                )
                status = response.status_code
            except requests.RequestException as exc:
                raise CommandError(f"Could not reach {self.base}: {exc.__class__.__name__}")
        self.statuses[str(status)] += 1
