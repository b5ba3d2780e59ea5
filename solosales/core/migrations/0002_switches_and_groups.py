from django.db import migrations

SWITCHES = {
    "qa_gate_list": (True, "Orders wait for a human QA#1 decision (off: automatic pass recorded as system)."),
    "qa_gate_mql": (True, "MQL orders wait for a human QA#2 decision (off: automatic pass recorded as system)."),
    "email_sending": (True, "Nurture emails are delivered (off: rendered and recorded as not sent)."),
    "provider_rocketreach": (False, "Build lists from RocketReach (off: sandbox/fallback providers only)."),
    "provider_fallback": (False, "When the primary provider's breaker is open, continue on the fallback provider."),
    "stripe_topups": (True, "Clients can buy credits."),
}
GROUPS = ["ops_qa", "ops_arbitration", "finance"]


def forwards(apps, schema_editor):
    Switch = apps.get_model("waffle", "Switch")
    Group = apps.get_model("auth", "Group")
    for name, (active, note) in SWITCHES.items():
        Switch.objects.get_or_create(name=name, defaults={"active": active, "note": note})
    for name in GROUPS:
        Group.objects.get_or_create(name=name)


def backwards(apps, schema_editor):
    apps.get_model("waffle", "Switch").objects.filter(name__in=SWITCHES).delete()
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("waffle", "0004_update_everyone_nullbooleanfield"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
