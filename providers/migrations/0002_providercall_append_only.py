"""ProviderCall is append-only: on PostgreSQL a trigger refuses UPDATE and DELETE."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION providers_providercall_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'providers_providercall is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER providers_providercall_append_only
    BEFORE UPDATE OR DELETE ON providers_providercall
    FOR EACH ROW EXECUTE FUNCTION providers_providercall_append_only();
"""

REVERSE = """
DROP TRIGGER IF EXISTS providers_providercall_append_only ON providers_providercall;
DROP FUNCTION IF EXISTS providers_providercall_append_only();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE, params=None)


class Migration(migrations.Migration):
    dependencies = [("providers", "0001_initial")]

    operations = [migrations.RunPython(forward, reverse)]
