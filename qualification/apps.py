from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QualificationConfig(AppConfig):
    name = "qualification"
    verbose_name = _("Qualification")

    def ready(self):
        from orders import hooks
        from qualification import demo as qualification_demo
        from qualification import jobs
        from solosales.core import demo, groups, periodic

        hooks.register_on_list_qa_passed_mql(start_nurture_on_commit)
        periodic.register(name="qualification.nurture_tick", func=jobs.nurture_tick, every_seconds=30, queue="email")
        groups.extend(
            groups.OPS_QA,
            [
                "qualification.view_mqlreview",
                "qualification.change_mqlreview",
                "qualification.view_emailmessage",
                "qualification.view_emailevent",
            ],
        )
        demo.register(order=40, name="qualification", func=qualification_demo.seed)
        groups.extend(groups.OPS_ARBITRATION, ["qualification.view_emailmessage", "qualification.view_emailevent"])


def start_nurture_on_commit(order) -> None:
    """orders hook: an MQL order passed QA#1 (called after that commit)."""
    from qualification import jobs
    from solosales.core.jobs import enqueue_on_commit

    enqueue_on_commit(jobs.nurture_start, order.pk, queue="email")
