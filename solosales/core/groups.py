"""Staff groups and their least-privilege permissions.

Core migration 0002 creates the groups; the permissions below are (re)applied after every
migrate, so each app adds its line here when its models land.
"""

OPS_QA = "ops_qa"
OPS_ARBITRATION = "ops_arbitration"
FINANCE = "finance"

# group -> permission codenames "app_label.codename". Missing ones (app not migrated yet) are skipped.
GROUP_PERMISSIONS: dict[str, list[str]] = {
    OPS_QA: [
        "core.view_outboxmessage",
    ],
    OPS_ARBITRATION: [],
    FINANCE: [],
}


def extend(group: str, perms: list[str]) -> None:
    """Apps call this from their AppConfig.ready() to add their permissions."""
    GROUP_PERMISSIONS.setdefault(group, [])
    for p in perms:
        if p not in GROUP_PERMISSIONS[group]:
            GROUP_PERMISSIONS[group].append(p)


def sync_group_permissions(sender=None, using="default", **kwargs):
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission

    # post_migrate reaches this receiver before auth's own for later apps: create every app's
    # permissions first (idempotent) so a fresh database gets complete groups in one migrate.
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)

    for name, perms in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=name)
        wanted = []
        for dotted in perms:
            app_label, codename = dotted.split(".", 1)
            perm = Permission.objects.using(using).filter(content_type__app_label=app_label, codename=codename).first()
            if perm:
                wanted.append(perm)
        group.permissions.set(wanted)
