import django.db.models.deletion
from django.db import migrations, models

# Leads are written once by the builder and then updated several times (QA#1 sampling and
# acceptance, delivery, the score while nurturing, the decision at QA#2). Leaving 30% of each
# page free lets PostgreSQL keep those updates on the same page (HOT: no index entries
# written), since none of them changes an indexed column.
FILLFACTOR = 70


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE orders_lead SET (fillfactor = {FILLFACTOR})")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE orders_lead RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0002_seed_rules_v1"),
    ]

    operations = [
        migrations.AlterField(
            model_name="lead",
            name="delivered",
            field=models.BooleanField(default=False, verbose_name="delivered"),
        ),
        migrations.AlterField(
            model_name="lead",
            name="email",
            field=models.CharField(blank=True, max_length=320, verbose_name="email"),
        ),
        migrations.AlterField(
            model_name="lead",
            name="order",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="leads",
                to="orders.order",
                verbose_name="order",
            ),
        ),
        migrations.RunPython(set_fillfactor, reset_fillfactor, elidable=False),
    ]
