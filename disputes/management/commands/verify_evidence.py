from django.core.management.base import BaseCommand, CommandError

from disputes.chain import verify_chain
from disputes.models import Dispute


class Command(BaseCommand):
    help = "Verify a dispute's evidence hash chain. Exit 0: intact; 1: tampered (names the item); 2: bad id."

    def add_arguments(self, parser):
        parser.add_argument("dispute_id", help="The dispute's id.")

    def handle(self, *args, **options):
        raw = options["dispute_id"]
        try:
            dispute_id = int(raw)
        except (TypeError, ValueError):
            raise CommandError(f"'{raw}' is not a dispute id (a whole number).", returncode=2)
        dispute = Dispute.objects.filter(pk=dispute_id).first()
        if dispute is None:
            raise CommandError(f"Dispute {dispute_id} does not exist.", returncode=2)
        ok, bad_seq, message = self.verify(dispute)
        if ok:
            self.stdout.write(self.style.SUCCESS(f"dispute {dispute_id}: OK — {message}"))
            return
        where = f"item seq {bad_seq}" if bad_seq is not None else "chain"
        raise CommandError(f"dispute {dispute_id}: TAMPERED at {where} — {message}", returncode=1)

    def verify(self, dispute):
        return verify_chain(dispute)
