from django.db import migrations

# EmailEvent is append-only: no DELETE, and an UPDATE may fill in the processing columns
# (outcome, event, message/lead/order, dedupe key, note, repeat count, processed_at) but
# never change what was received.
TRIGGER_SQL = """
CREATE OR REPLACE FUNCTION qualification_emailevent_append_only() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'qualification_emailevent is append-only: DELETE refused'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NEW.unique_key IS DISTINCT FROM OLD.unique_key
     OR NEW.source IS DISTINCT FROM OLD.source
     OR NEW.event_raw IS DISTINCT FROM OLD.event_raw
     OR NEW.email_id IS DISTINCT FROM OLD.email_id
     OR NEW.token IS DISTINCT FROM OLD.token
     OR NEW.occurred_at IS DISTINCT FROM OLD.occurred_at
     OR NEW.received_at IS DISTINCT FROM OLD.received_at
     OR NEW.payload::text IS DISTINCT FROM OLD.payload::text THEN
    RAISE EXCEPTION 'qualification_emailevent: the received fields cannot be changed'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER qualification_emailevent_append_only
  BEFORE UPDATE OR DELETE ON qualification_emailevent
  FOR EACH ROW EXECUTE FUNCTION qualification_emailevent_append_only();
"""
DROP_SQL = """
DROP TRIGGER IF EXISTS qualification_emailevent_append_only ON qualification_emailevent;
DROP FUNCTION IF EXISTS qualification_emailevent_append_only();
"""


def add_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER_SQL, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [("qualification", "0001_initial")]

    operations = [migrations.RunPython(add_trigger, drop_trigger)]
