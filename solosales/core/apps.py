from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "solosales.core"
    label = "core"
    verbose_name = "Core"

    def ready(self):
        from solosales.core import checks  # noqa: F401  (registers the production checks)
        from solosales.core.groups import sync_group_permissions

        post_migrate.connect(sync_group_permissions, dispatch_uid="solosales.core.sync_group_permissions")
