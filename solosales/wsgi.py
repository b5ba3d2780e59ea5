"""The WSGI application: the portal, and a lean handler for the webhooks.

``/webhooks/…`` are called by Stripe and SendCloud, never by a browser: they are verified by
their signatures and answer JSON, so they need none of the portal's browser middleware
(sessions, authentication, CSRF, messages, language and time zone, allauth, history user,
switches, CSP). They are served by a handler with only the security and common middleware,
which leaves the busiest endpoints the least work per request. Everything else goes
through the full stack of ``settings.MIDDLEWARE``. Both handlers share the URLconf.
"""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "solosales.settings")

portal = get_wsgi_application()

WEBHOOK_PREFIX = "/webhooks/"
WEBHOOK_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]


def _webhook_handler():
    """A second Django handler whose middleware is WEBHOOK_MIDDLEWARE (read when the handler
    loads its middleware, once, at start-up)."""
    from django.core.handlers.wsgi import WSGIHandler

    full = settings.MIDDLEWARE
    settings.MIDDLEWARE = [m for m in WEBHOOK_MIDDLEWARE if m in full]
    try:
        return WSGIHandler()
    finally:
        settings.MIDDLEWARE = full


webhooks = _webhook_handler()


def application(environ, start_response):
    if environ.get("PATH_INFO", "").startswith(WEBHOOK_PREFIX):
        return webhooks(environ, start_response)
    return portal(environ, start_response)
