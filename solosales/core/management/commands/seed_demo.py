from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from solosales.core.demo import seeders
from solosales.core.groups import FINANCE, OPS_ARBITRATION, OPS_QA

DEMO_CLIENT = ("demo@example.com", "demo-pass-2026")
DEMO_STAFF = ("ops@example.com", "ops-pass-2026")


class Command(BaseCommand):
    help = "Create the demo client and staff users (and each app's demo history). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--users-only", action="store_true", help="Only the two demo users.")

    def handle(self, *args, **options):
        client, staff = self.seed_users()
        if not options["users_only"]:
            for _, name, func in seeders():
                func(client=client, staff=staff, stdout=self.stdout)
                self.stdout.write(f"  seeded {name}")
        self.stdout.write(self.style.SUCCESS("Demo users:"))
        self.stdout.write(f"  client  {DEMO_CLIENT[0]}  password: {DEMO_CLIENT[1]}   (portal: http://127.0.0.1:8000/)")
        self.stdout.write(
            f"  staff   {DEMO_STAFF[0]}  password: {DEMO_STAFF[1]}   (admin:  http://127.0.0.1:8000/admin/)"
        )

    @transaction.atomic
    def seed_users(self):
        User = get_user_model()
        client, _ = User.objects.get_or_create(
            email=DEMO_CLIENT[0], defaults={"name": "Demo Client", "company": "Acme Growth"}
        )
        client.set_password(DEMO_CLIENT[1])
        client.is_active = True
        client.save()
        EmailAddress.objects.update_or_create(
            user=client, email=client.email, defaults={"verified": True, "primary": True}
        )
        staff, _ = User.objects.get_or_create(email=DEMO_STAFF[0], defaults={"name": "Ops Staff"})
        staff.set_password(DEMO_STAFF[1])
        staff.is_staff = True
        staff.is_superuser = True
        staff.is_active = True
        staff.save()
        EmailAddress.objects.update_or_create(
            user=staff, email=staff.email, defaults={"verified": True, "primary": True}
        )
        staff.groups.set(Group.objects.filter(name__in=[OPS_QA, OPS_ARBITRATION, FINANCE]))
        return client, staff
