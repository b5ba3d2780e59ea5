from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from disputes.chain import compute_hash, verify_chain
from disputes.models import GENESIS_HASH, EvidenceItem
from disputes.services import dispute_add_evidence, dispute_open
from tests.disputes.helpers import PNG

pytestmark = pytest.mark.django_db


@pytest.fixture
def dispute(client_user, order, leads, staff_user):
    d = dispute_open(
        user=client_user,
        order=order,
        items=[{"lead": leads[0], "reason": "invalid_email"}, {"lead": leads[1], "reason": "duplicate"}],
        statement="Both bounced.",
        files=[SimpleUploadedFile("bounce.png", PNG)],
    )
    dispute_add_evidence(dispute=d, user=client_user, text="It bounced again — 再次退信.")
    dispute_add_evidence(dispute=d, user=staff_user, text="Checked the provider record.")
    return d


def _tamper(sql, params):
    """Alters a row as an attacker with database access would: triggers off, then on again."""
    with connection.cursor() as cursor:
        # Django's deferred foreign-key checks must fire before the table can be altered.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE disputes_evidenceitem DISABLE TRIGGER USER")
        try:
            cursor.execute(sql, params)
        finally:
            cursor.execute("ALTER TABLE disputes_evidenceitem ENABLE TRIGGER USER")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def test_items_link_into_a_chain_that_verifies(dispute):
    items = list(EvidenceItem.objects.filter(dispute=dispute).order_by("seq"))
    assert [i.seq for i in items] == [1, 2, 3, 4, 5]
    assert [i.kind for i in items] == [
        "client_statement",
        "client_file",
        "system_snapshot",
        "client_statement",
        "ops_note",
    ]
    assert items[0].prev_hash == GENESIS_HASH
    for before, after in zip(items, items[1:], strict=False):
        assert after.prev_hash == before.item_hash
    for item in items:
        assert compute_hash(item) == item.item_hash
    assert verify_chain(dispute) == (True, None, "The chain of 5 items verifies.")


@pytest.mark.postgres
def test_chain_verification_names_the_tampered_item(dispute):
    _tamper("UPDATE disputes_evidenceitem SET text = %s WHERE dispute_id = %s AND seq = 4", ["nothing", dispute.pk])
    ok, bad_seq, message = verify_chain(dispute)
    assert (ok, bad_seq) == (False, 4)
    assert "altered" in message


@pytest.mark.postgres
def test_a_rehashed_item_still_breaks_the_link_to_the_next(dispute):
    item = EvidenceItem.objects.get(dispute=dispute, seq=2)
    item.file_name = "innocent.png"
    new_hash = compute_hash(item)
    _tamper(
        "UPDATE disputes_evidenceitem SET file_name = %s, item_hash = %s WHERE id = %s",
        ["innocent.png", new_hash, item.pk],
    )
    assert verify_chain(dispute)[:2] == (False, 3)


@pytest.mark.postgres
def test_a_deleted_item_is_detected(dispute):
    _tamper("DELETE FROM disputes_evidenceitem WHERE dispute_id = %s AND seq = 3", [dispute.pk])
    assert verify_chain(dispute)[:2] == (False, 3)


def test_a_changed_file_on_disk_is_detected(dispute):
    item = EvidenceItem.objects.get(dispute=dispute, kind="client_file")
    (Path(settings.PRIVATE_ROOT) / item.file_path).write_bytes(PNG + b"x")
    ok, bad_seq, message = verify_chain(dispute)
    assert (ok, bad_seq) == (False, item.seq)
    assert "file" in message


@pytest.mark.postgres
def test_the_database_refuses_update_and_delete_of_evidence(dispute):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        EvidenceItem.objects.filter(dispute=dispute, seq=1).update(text="rewritten")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        EvidenceItem.objects.filter(dispute=dispute, seq=1).delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        dispute.log.all().update(notes="rewritten")
    assert EvidenceItem.objects.get(dispute=dispute, seq=1).text == "Both bounced."
    assert verify_chain(dispute)[0]


def test_verify_evidence_command_passes_an_intact_chain(dispute, capsys):
    call_command("verify_evidence", str(dispute.pk))
    assert "OK" in capsys.readouterr().out


@pytest.mark.postgres
def test_verify_evidence_command_exits_1_naming_the_item(dispute):
    _tamper("UPDATE disputes_evidenceitem SET text = %s WHERE dispute_id = %s AND seq = 1", ["x", dispute.pk])
    with pytest.raises(CommandError, match="seq 1") as exc:
        call_command("verify_evidence", str(dispute.pk))
    assert exc.value.returncode == 1


@pytest.mark.parametrize("bad_id", ["999999", "abc"])
def test_verify_evidence_command_exits_2_on_a_bad_id(bad_id):
    with pytest.raises(CommandError) as exc:
        call_command("verify_evidence", bad_id)
    assert exc.value.returncode == 2


@pytest.mark.postgres
def test_admin_flags_a_tampered_chain(client, staff_user, dispute):
    _tamper("UPDATE disputes_evidenceitem SET text = %s WHERE dispute_id = %s AND seq = 1", ["x", dispute.pk])
    client.force_login(staff_user)
    assert "✗" in client.get(f"/admin/disputes/dispute/{dispute.pk}/change/").content.decode()
    assert "✗" in client.get("/admin/disputes/dispute/").content.decode()


def test_admin_shows_the_chain_status(client, staff_user, dispute):
    client.force_login(staff_user)
    response = client.get(f"/admin/disputes/dispute/{dispute.pk}/change/")
    assert response.status_code == 200
    assert "✓" in response.content.decode()
    assert f"/admin/disputes/dispute/{dispute.pk}/arbitrate/" in response.content.decode()
    response = client.get("/admin/disputes/dispute/")
    assert response.status_code == 200
    assert "✓" in response.content.decode()


def test_the_dispute_keeps_the_head_of_its_chain(dispute):
    last = EvidenceItem.objects.filter(dispute=dispute).order_by("-seq").first()
    dispute.refresh_from_db()
    assert (dispute.evidence_count, dispute.evidence_head) == (5, last.item_hash)


@pytest.mark.parametrize(("removed", "missing"), [((5,), 5), ((4, 5), 4), ((1, 2, 3, 4, 5), 1)])
def test_items_removed_from_the_end_of_the_chain_are_detected(dispute, removed, missing):
    """What is left still links and verifies by itself; the stored head says it is short."""
    _tamper("DELETE FROM disputes_evidenceitem WHERE dispute_id = %s AND seq = ANY(%s)", [dispute.pk, list(removed)])
    assert verify_chain(dispute) == (False, missing, f"Item {missing} is missing from the chain.")


def test_the_migration_backfills_the_head_of_existing_disputes(dispute):
    import importlib

    from django.apps import apps

    from disputes.models import Dispute

    Dispute.objects.filter(pk=dispute.pk).update(evidence_count=0, evidence_head="")
    importlib.import_module("disputes.migrations.0003_dispute_evidence_head").backfill(apps, None)
    dispute.refresh_from_db()
    last = EvidenceItem.objects.filter(dispute=dispute).order_by("-seq").first()
    assert (dispute.evidence_count, dispute.evidence_head) == (5, last.item_hash)
    assert verify_chain(dispute)[0]
