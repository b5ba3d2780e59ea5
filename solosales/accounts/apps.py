from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "solosales.accounts"
    label = "accounts"
    verbose_name = "Users and API tokens"

    def ready(self):
        from solosales.accounts import schema  # noqa: F401  (registers the OpenAPI auth extension)
