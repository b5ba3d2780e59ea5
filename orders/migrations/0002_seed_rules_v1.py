from django.db import migrations


def seed(apps, schema_editor):
    RulesVersion = apps.get_model("orders", "RulesVersion")
    RulesVersion.objects.get_or_create(version=1, defaults={"active": True, "notes": "Launch rules."})


def unseed(apps, schema_editor):
    apps.get_model("orders", "RulesVersion").objects.filter(version=1, used=False).delete()


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
