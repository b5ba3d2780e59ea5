from django.conf import settings
from django.db import migrations

TRIGGER_SQL = """
CREATE OR REPLACE FUNCTION wallet_transfer_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'wallet_transfer is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER wallet_transfer_no_update_delete
  BEFORE UPDATE OR DELETE ON wallet_transfer
  FOR EACH ROW EXECUTE FUNCTION wallet_transfer_append_only();
CREATE TRIGGER wallet_transfer_no_truncate
  BEFORE TRUNCATE ON wallet_transfer
  FOR EACH STATEMENT EXECUTE FUNCTION wallet_transfer_append_only();
"""
DROP_SQL = """
DROP TRIGGER IF EXISTS wallet_transfer_no_truncate ON wallet_transfer;
DROP TRIGGER IF EXISTS wallet_transfer_no_update_delete ON wallet_transfer;
DROP FUNCTION IF EXISTS wallet_transfer_append_only();
"""


def add_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # params=None: the SQL is sent as is (the "%" in RAISE is a plpgsql placeholder,
        # not a driver one; with params=() psycopg refuses it).
        schema_editor.execute(TRIGGER_SQL, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL, params=None)


def seed(apps, schema_editor):
    Account = apps.get_model("wallet", "Account")
    PricingVersion = apps.get_model("wallet", "PricingVersion")
    for kind in ("stripe_clearing", "revenue"):
        Account.objects.get_or_create(owner=None, kind=kind)
    PricingVersion.objects.get_or_create(
        version=1,
        defaults={
            "active": True,
            "list_lead_price": 1,
            "mql_lead_price": 5,
            "credit_price_minor": 100,
            # CREDITS_CURRENCY (default cny) at the time the database is created.
            "currency": getattr(settings, "CREDITS_CURRENCY", "cny").lower()[:3],
            "min_order_size": 10,
            "max_order_size": 50000,
            "min_topup_credits": 50,
            "max_topup_credits": 100000,
            "notes": "Launch pricing.",
        },
    )


def unseed(apps, schema_editor):
    # Reversible only while nothing used them (PROTECT foreign keys refuse otherwise).
    apps.get_model("wallet", "PricingVersion").objects.filter(version=1, used=False).delete()
    apps.get_model("wallet", "Account").objects.filter(owner=None, balance=0).delete()


class Migration(migrations.Migration):
    dependencies = [("wallet", "0001_initial")]

    operations = [
        migrations.RunPython(add_trigger, drop_trigger),
        migrations.RunPython(seed, unseed),
    ]
