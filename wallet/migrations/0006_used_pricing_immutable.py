"""A used pricing version is immutable in the database, not only in the admin: an UPDATE may
change ``active`` and nothing else, and a DELETE is refused (orders and top-ups priced by it,
and the one-statement placement that trusts a used version it has seen, rely on that).
The function is shared with the rules versions (orders 0004)."""

from django.db import migrations

FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION solosales_used_version_immutable() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD.used THEN
      RAISE EXCEPTION '% version % is used: it cannot be deleted', TG_ARGV[0], OLD.version
        USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN OLD;
  END IF;
  IF OLD.used AND (to_jsonb(NEW) - 'active') IS DISTINCT FROM (to_jsonb(OLD) - 'active') THEN
    RAISE EXCEPTION '% version % is used: only "active" can change; create a new version', TG_ARGV[0], OLD.version
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER wallet_pricingversion_used_immutable
  BEFORE UPDATE OR DELETE ON wallet_pricingversion
  FOR EACH ROW EXECUTE FUNCTION solosales_used_version_immutable('pricing');
"""
DROP_SQL = """
DROP TRIGGER IF EXISTS wallet_pricingversion_used_immutable ON wallet_pricingversion;
DROP FUNCTION IF EXISTS solosales_used_version_immutable();
"""


def add_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION_SQL, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [("wallet", "0005_pricing_currency_default")]

    operations = [migrations.RunPython(add_trigger, drop_trigger)]
