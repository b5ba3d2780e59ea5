import logging

from django.conf import settings
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from solosales.core.dashboard import panels_for
from solosales.core.decorators import portal_view
from solosales.core.models import OutboxMessage
from solosales.core.probe import redis_answers

log = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request):
    """200 when PostgreSQL/SQLite and Redis answer, 503 otherwise. Never raises."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = "ok"
    except Exception as exc:  # any database failure is a health fact, not a 500
        log.warning("healthz: database check failed: %s", exc)
        checks["database"] = "unavailable"
    if settings.JOBS_INLINE:
        checks["redis"] = "not used (jobs run in-process)"
        redis_ok = True
    else:
        redis_ok = redis_answers(settings.REDIS_URL)
        checks["redis"] = "ok" if redis_ok else "unavailable"
    healthy = checks["database"] == "ok" and redis_ok
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks}, status=200 if healthy else 503
    )


def home(request):
    if request.user.is_authenticated:
        return redirect("dashboard")
    return render(request, "portal/home.html")


@portal_view
def dashboard(request):
    return render(request, "portal/dashboard.html", {"panels": panels_for(request)})


def _outbox_allowed(request):
    demo = settings.EMAIL_BACKEND == "solosales.core.mail.OutboxEmailBackend" and settings.DEMO_OUTBOX_PUBLIC
    return demo or (request.user.is_authenticated and request.user.is_staff)


def outbox(request):
    """The demo's mailbox: every email the portal sent (only in DEBUG with the outbox backend, or staff)."""
    if not _outbox_allowed(request):
        raise Http404
    page = Paginator(OutboxMessage.objects.all(), 25).get_page(request.GET.get("page"))
    return render(request, "portal/outbox.html", {"page": page})


def outbox_message(request, pk: int):
    if not _outbox_allowed(request):
        raise Http404
    message = get_object_or_404(OutboxMessage, pk=pk)
    return render(request, "portal/outbox_message.html", {"message": message})


def not_found(request, exception=None):
    """404 for a URL no route matches: the API's JSON error shape under /api/ (a client that
    sends a malformed id gets the same answer as for a missing object), the page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"error": {"code": "not_found", "message": _("Not found."), "detail": {}}},
            status=404,
        )
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def admin_login(request, extra_context=None):
    """``admin.site.login``: the admin's sign-in sends staff to the portal's own login (with
    ``next`` kept), which rate-limits failed attempts; the admin form never checks a
    password here. A signed-in user without admin access sees the admin's usual "not
    authorized" page (a GET), whose form also leads to the portal's login."""
    from django.contrib import admin
    from django.contrib.admin import AdminSite
    from django.contrib.auth.views import redirect_to_login
    from django.urls import reverse

    if request.method == "GET" and request.user.is_authenticated:
        return AdminSite.login(admin.site, request, extra_context)
    next_url = request.GET.get("next") or request.POST.get("next") or reverse("admin:index")
    return redirect_to_login(next_url, login_url=reverse("account_login"))
