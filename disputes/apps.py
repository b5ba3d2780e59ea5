from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DisputesConfig(AppConfig):
    name = "disputes"
    verbose_name = _("Disputes")

    def ready(self):
        from disputes.demo import seed_demo_dispute
        from disputes.selectors import order_has_active_dispute
        from orders import hooks
        from solosales.core import demo, groups

        # An open or under-review dispute keeps its order delivered past the window.
        hooks.register_blocks_close(order_has_active_dispute)
        groups.extend(
            groups.OPS_ARBITRATION,
            [
                "disputes.view_dispute",
                "disputes.decide_dispute",
                "disputes.view_disputeitem",
                "disputes.view_evidenceitem",
                "disputes.view_arbitrationlog",
                "disputes.view_historicaldispute",
                "disputes.view_historicaldisputeitem",
            ],
        )
        demo.register(order=60, name="disputes", func=seed_demo_dispute)
        from disputes import panels

        panels.register_ops_panels()
