"""A used rules version is immutable in the database, as a used pricing version is (the
trigger function of wallet 0006): an UPDATE may change ``active`` only, a DELETE is refused.
Scores are derived on read with the order's rules version, so a changed used version would
rewrite every breakdown made under it."""

from django.db import migrations

TRIGGER_SQL = """
CREATE TRIGGER orders_rulesversion_used_immutable
  BEFORE UPDATE OR DELETE ON orders_rulesversion
  FOR EACH ROW EXECUTE FUNCTION solosales_used_version_immutable('rules');
"""
DROP_SQL = "DROP TRIGGER IF EXISTS orders_rulesversion_used_immutable ON orders_rulesversion;"


def add_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER_SQL, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0003_lead_indexes_fillfactor"),
        ("wallet", "0006_used_pricing_immutable"),
    ]

    operations = [migrations.RunPython(add_trigger, drop_trigger)]
