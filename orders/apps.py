from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders")

    def ready(self):
        from solosales.core import demo, groups, periodic

        from . import demo as orders_demo
        from . import jobs

        periodic.register(name="orders.sweep", func=jobs.sweep, every_seconds=30, queue="default")
        periodic.register(name="orders.close_due", func=jobs.close_due, every_seconds=60, queue="default")
        groups.extend(
            groups.OPS_QA,
            [
                "orders.view_order",
                "orders.view_lead",
                "orders.view_ordertransition",
                "orders.view_pipelinestep",
                "orders.view_qadecision",
                "orders.add_qadecision",
                "orders.view_suppressedaddress",
                "orders.view_rulesversion",
            ],
        )
        demo.register(order=20, name="orders", func=orders_demo.seed)
        from . import panels

        panels.register_panels()
