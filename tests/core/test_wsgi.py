"""solosales.wsgi: webhooks are served by a handler without the browser middleware; every
other path by the full portal stack."""

import io
from urllib.parse import urlencode
from wsgiref.util import setup_testing_defaults

import pytest

from qualification.models import EmailEvent
from solosales import wsgi
from tests.qualification.helpers import make_mql_order, send_step, signed

pytestmark = [pytest.mark.django_db(transaction=True)]


def _call(path, *, method="GET", body=b"", content_type=""):
    environ = {}
    setup_testing_defaults(environ)
    environ.update(
        PATH_INFO=path,
        REQUEST_METHOD=method,
        HTTP_HOST="testserver",
        SERVER_NAME="testserver",
        CONTENT_TYPE=content_type,
        CONTENT_LENGTH=str(len(body)),
    )
    environ["wsgi.input"] = io.BytesIO(body)
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"], answer["headers"] = int(status.split()[0]), dict(headers)

    answer["body"] = b"".join(wsgi.application(environ, start_response))
    return answer


def test_the_webhook_handler_keeps_the_security_middleware_of_the_portal():
    from django.conf import settings

    assert set(wsgi.WEBHOOK_MIDDLEWARE) <= set(settings.MIDDLEWARE)
    assert "django.middleware.security.SecurityMiddleware" in wsgi.WEBHOOK_MIDDLEWARE
    assert len(wsgi.webhooks._view_middleware) < len(wsgi.portal._view_middleware)  # no CSRF view check


def test_a_sendcloud_delivery_through_the_wsgi_application_is_stored_without_a_session():
    order = make_mql_order(leads=1)
    message = send_step(order)[0]
    body = urlencode(signed(message, "open")).encode()
    answer = _call("/webhooks/sendcloud/", method="POST", body=body, content_type="application/x-www-form-urlencoded")
    assert answer["status"] == 200 and b"pending" in answer["body"]
    assert "Set-Cookie" not in answer["headers"] and "Vary" not in answer["headers"]
    assert EmailEvent.objects.filter(event_raw="open", outcome="pending").count() == 1


def test_portal_paths_go_through_the_full_stack():
    answer = _call("/accounts/login/")
    assert answer["status"] == 200
    assert "csrftoken" in answer["headers"].get("Set-Cookie", "") and "Content-Security-Policy" in answer["headers"]
