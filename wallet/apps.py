from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WalletConfig(AppConfig):
    name = "wallet"
    verbose_name = _("Wallet")

    def ready(self):
        from solosales.core import dashboard, demo, groups, periodic
        from wallet.jobs import stripe_events_sweep_job

        dashboard.register(order=10, template="wallet/panel.html", context=_panel_context)
        demo.register(order=10, name="wallet", func=_seed_demo)
        periodic.register(
            name="wallet.stripe_events_sweep", func=stripe_events_sweep_job, every_seconds=120, queue="webhooks"
        )
        groups.extend(
            groups.FINANCE,
            [
                "wallet.view_account",
                "wallet.view_transfer",
                "wallet.view_hold",
                "wallet.view_topup",
                "wallet.view_stripeevent",
                "wallet.reprocess_stripeevent",
                "wallet.post_adjustment",
                "wallet.view_pricingversion",
                "wallet.add_pricingversion",
                "wallet.change_pricingversion",
            ],
        )


def _panel_context(request) -> dict:
    from wallet.selectors import wallet_summary

    return {"wallet": wallet_summary(user=request.user)}


def _seed_demo(*, client, staff, stdout):
    from wallet.services import topup_seed_paid

    topup = topup_seed_paid(user=client, credits=500, session_id=f"cs_demo_seed_{client.pk}")
    stdout.write(f"    wallet: top-up #{topup.pk} of {topup.credits} credits ({topup.status})")
