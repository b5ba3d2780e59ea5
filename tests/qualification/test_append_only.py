"""EmailEvent is append-only on PostgreSQL: received fields and rows cannot be changed."""

import pytest
from django.db import DatabaseError, transaction

from qualification.models import EmailEvent

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def event():
    return EmailEvent.objects.create(unique_key="k" * 64, event_raw="open", payload={"event": "open"})


def test_deleting_an_event_is_refused():
    e = event()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        EmailEvent.objects.filter(pk=e.pk).delete()
    assert EmailEvent.objects.filter(pk=e.pk).exists()


@pytest.mark.parametrize(
    "change", [{"payload": {"event": "click"}}, {"event_raw": "click"}, {"unique_key": "x"}, {"email_id": "other"}]
)
def test_changing_what_was_received_is_refused(change):
    e = event()
    with pytest.raises(DatabaseError, match="cannot be changed"), transaction.atomic():
        EmailEvent.objects.filter(pk=e.pk).update(**change)


def test_processing_fields_can_be_filled_in():
    e = event()
    EmailEvent.objects.filter(pk=e.pk).update(outcome="accepted", event="opened", note="ok", repeat_count=2)
    e.refresh_from_db()
    assert (e.outcome, e.event, e.repeat_count) == ("accepted", "opened", 2)
