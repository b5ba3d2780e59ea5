from django.db import migrations

TRIGGER_SQL = """
CREATE OR REPLACE FUNCTION disputes_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER disputes_evidenceitem_no_update_delete
  BEFORE UPDATE OR DELETE ON disputes_evidenceitem
  FOR EACH ROW EXECUTE FUNCTION disputes_append_only();
CREATE TRIGGER disputes_arbitrationlog_no_update_delete
  BEFORE UPDATE OR DELETE ON disputes_arbitrationlog
  FOR EACH ROW EXECUTE FUNCTION disputes_append_only();
"""
DROP_SQL = """
DROP TRIGGER IF EXISTS disputes_arbitrationlog_no_update_delete ON disputes_arbitrationlog;
DROP TRIGGER IF EXISTS disputes_evidenceitem_no_update_delete ON disputes_evidenceitem;
DROP FUNCTION IF EXISTS disputes_append_only();
"""


def add_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # params=None: "%" is a plpgsql placeholder, not a driver one.
        schema_editor.execute(TRIGGER_SQL, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [("disputes", "0001_initial")]

    operations = [migrations.RunPython(add_trigger, drop_trigger)]
