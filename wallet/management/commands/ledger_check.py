from django.core.management.base import BaseCommand

from wallet.ledger_check import run_checks


class Command(BaseCommand):
    help = "Verify the ledger invariants 1–8 (DESIGN.md §4). Exits 1 naming each violation."

    def handle(self, *args, **options):
        report = run_checks()
        self.stdout.write(f"ledger_check: {report.transfers} transfers, {len(report.checked)} invariants")
        for note in report.notes:
            self.stdout.write(f"  note: {note}")
        if report.ok:
            self.stdout.write(self.style.SUCCESS("  all invariants hold"))
            return
        for violation in report.violations:
            self.stderr.write(self.style.ERROR(f"  VIOLATION {violation}"))
        self.stderr.write(f"ledger_check: {len(report.violations)} violation(s)")
        raise SystemExit(1)
