from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProvidersConfig(AppConfig):
    name = "providers"
    verbose_name = _("Data providers")

    def ready(self):
        from solosales.core import groups

        from .base import _load_builtins

        _load_builtins()
        groups.extend(groups.OPS_QA, ["providers.view_providercall", "providers.view_lookuprecord"])
        groups.extend(groups.FINANCE, ["providers.view_providercall"])
