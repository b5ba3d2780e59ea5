import django_rq.urls
from django.contrib import admin
from django.contrib.auth.decorators import user_passes_test
from django.urls import URLPattern, include, path
from django.utils.translation import gettext_lazy
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from solosales.accounts import api as accounts_api
from solosales.accounts import views as accounts_views
from solosales.core import views as core_views


def _superuser_only(patterns):
    """The RQ dashboard can empty queues and delete jobs: superusers only, not every staff member."""
    check = user_passes_test(lambda u: u.is_active and u.is_superuser, login_url="admin:login")
    return [URLPattern(p.pattern, check(p.callback), p.default_args, p.name) for p in patterns]


api_v1 = [
    path("me/", accounts_api.me, name="api-me"),
    path("wallet/", include("wallet.api_urls")),
    path("orders/", include("orders.api_urls")),
    path("orders/", include("qualification.api_urls")),
    path("disputes/", include("disputes.api_urls")),
    path("ops/", include("orders.ops_api_urls")),
    path("ops/", include("disputes.ops_api_urls")),
]

# Staff sign in through the portal's login like everyone else (allauth: failed attempts
# rate-limited, email verified), never through the admin's own form, which would check
# passwords with no limit at all.
# (Set before admin.site.urls is read: its URL patterns bind the view.)
admin.site.login = core_views.admin_login

urlpatterns = [
    # Webhooks first: the busiest routes, resolved without trying the others.
    path("webhooks/", include("wallet.webhook_urls")),
    path("webhooks/", include("qualification.webhook_urls")),
    path("", core_views.home, name="home"),
    path("dashboard/", core_views.dashboard, name="dashboard"),
    path("healthz", core_views.healthz, name="healthz"),
    path("outbox/", core_views.outbox, name="outbox"),
    path("outbox/<int:pk>/", core_views.outbox_message, name="outbox-message"),
    path("accounts/", include("allauth.urls")),
    path("settings/tokens/", accounts_views.tokens, name="tokens"),
    path("settings/tokens/<int:pk>/revoke/", accounts_views.token_revoke, name="token-revoke"),
    path("settings/preferences/", accounts_views.preferences, name="preferences"),
    path("i18n/setlang/", accounts_views.set_language, name="set_language"),
    path("wallet/", include("wallet.urls")),
    path("orders/", include("orders.urls")),
    path("orders/", include("qualification.urls")),
    path("disputes/", include("disputes.urls")),
    path("e/", include("qualification.public_urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("admin/rq/", include((_superuser_only(django_rq.urls.urlpatterns), "django_rq"))),
    path("admin/", admin.site.urls),
]


handler404 = "solosales.core.views.not_found"

admin.site.site_header = gettext_lazy("SoloSales operations")
admin.site.site_title = gettext_lazy("SoloSales ops")
admin.site.index_title = gettext_lazy("Operations")
