from django.conf import settings


def portal(request):
    return {
        "DEMO_OUTBOX": settings.EMAIL_BACKEND == "solosales.core.mail.OutboxEmailBackend"
        and settings.DEMO_OUTBOX_PUBLIC,
        "JOBS_INLINE": settings.JOBS_INLINE,
    }
