"""The SendCloud client and email backend against a local server speaking SendCloud's wire format."""

import json
import time
from urllib.parse import parse_qs

import pytest
from django.core.mail import EmailMultiAlternatives
from werkzeug import Response

from qualification import sendcloud
from qualification.backends import SendCloudEmailBackend

OK = {
    "result": True,
    "statusCode": 200,
    "message": "请求成功",
    "info": {"emailIdList": ["1690000000000_123_456_7890.sc-10_9_6_5-inbound0$ada@acme.example"]},
}


@pytest.fixture
def sendcloud_settings(settings, httpserver):
    settings.SENDCLOUD_API_USER = "api-user"
    settings.SENDCLOUD_API_KEY = "api-key"
    settings.SENDCLOUD_API_BASE = httpserver.url_for("/apiv2")
    settings.SENDCLOUD_FROM = "hello@solosales.example"
    return settings


def _form(request) -> dict:
    return {k: v[0] for k, v in parse_qs(request.get_data(as_text=True)).items()}


def _send(**overrides):
    params = {
        "to": "ada@acme.example",
        "subject": "Hello",
        "html": "<p>Hi</p>",
        "plain": "Hi",
        "request_id": "6f1c7a1e-0000-4000-8000-000000000001",
    }
    return sendcloud.send(**{**params, **overrides})


def test_success_returns_the_email_ids_and_posts_the_documented_form(sendcloud_settings, httpserver):
    captured = {}

    def handler(request):
        captured.update(_form(request))
        captured["content_type"] = request.headers.get("Content-Type", "")
        return Response(json.dumps(OK), content_type="application/json")

    httpserver.expect_oneshot_request("/apiv2/mail/send", method="POST").respond_with_handler(handler)
    result = _send(from_name="Acme", headers={"List-Unsubscribe": "<https://x/u>"})
    assert result.email_ids == OK["info"]["emailIdList"]
    assert captured["content_type"].startswith("application/x-www-form-urlencoded")
    assert captured["apiUser"] == "api-user" and captured["apiKey"] == "api-key"
    assert captured["from"] == "hello@solosales.example" and captured["fromName"] == "Acme"
    assert captured["to"] == "ada@acme.example"
    assert captured["sendRequestId"] == "6f1c7a1e-0000-4000-8000-000000000001"
    headers = json.loads(captured["headers"])
    assert headers["SC-Custom-Message-Id"] == "6f1c7a1e-0000-4000-8000-000000000001"
    assert headers["List-Unsubscribe"] == "<https://x/u>"
    filters = json.loads(captured["xsmtpapi"])["filters"]
    assert filters["open_tracking"]["settings"]["enable"] == "1"
    assert filters["click_tracking"]["settings"]["enable"] == "1"
    assert captured["html"] == "<p>Hi</p>" and captured["plain"] == "Hi"


def test_result_false_40005_is_a_permanent_authentication_error(sendcloud_settings, httpserver):
    httpserver.expect_oneshot_request("/apiv2/mail/send").respond_with_json(
        {"result": False, "statusCode": 40005, "message": "认证失败", "info": {}}
    )
    with pytest.raises(sendcloud.SendCloudAuthError) as exc:
        _send()
    assert exc.value.permanent is True
    assert exc.value.status_code == 40005


def test_result_false_parameter_error_is_permanent(sendcloud_settings, httpserver):
    httpserver.expect_oneshot_request("/apiv2/mail/send").respond_with_json(
        {"result": False, "statusCode": 40012, "message": "from格式非法", "info": {}}
    )
    with pytest.raises(sendcloud.SendCloudPermanentError) as exc:
        _send()
    assert not isinstance(exc.value, sendcloud.SendCloudAuthError)
    assert exc.value.status_code == 40012


def test_http_500_is_transient(sendcloud_settings, httpserver):
    httpserver.expect_oneshot_request("/apiv2/mail/send").respond_with_data("boom", status=500)
    with pytest.raises(sendcloud.SendCloudTransientError) as exc:
        _send()
    assert exc.value.permanent is False
    assert exc.value.http_status == 500


def test_http_401_is_an_authentication_error(sendcloud_settings, httpserver):
    httpserver.expect_oneshot_request("/apiv2/mail/send").respond_with_data("no", status=401)
    with pytest.raises(sendcloud.SendCloudAuthError):
        _send()


def test_a_timeout_is_transient(sendcloud_settings, httpserver):
    def slow(request):
        time.sleep(1.0)
        return Response(json.dumps(OK), content_type="application/json")

    httpserver.expect_oneshot_request("/apiv2/mail/send").respond_with_handler(slow)
    started = time.monotonic()
    with pytest.raises(sendcloud.SendCloudTransientError, match="timed out"):
        _send(timeout=(1, 0.2))
    assert time.monotonic() - started < 1.0


def test_a_200_that_is_not_json_is_transient(sendcloud_settings, httpserver):
    httpserver.expect_oneshot_request("/apiv2/mail/send").respond_with_data("<html>maintenance</html>")
    with pytest.raises(sendcloud.SendCloudTransientError):
        _send()


def test_connection_refused_is_transient(settings):
    settings.SENDCLOUD_API_USER, settings.SENDCLOUD_API_KEY = "u", "k"
    with pytest.raises(sendcloud.SendCloudTransientError, match="unreachable"):
        _send(base="http://127.0.0.1:9/apiv2", timeout=(0.5, 0.5))


def test_webhook_signature_helpers():
    sig = sendcloud.signature(timestamp="1700000000000", token="t" * 50, app_key="k")
    assert sendcloud.signature_valid(timestamp="1700000000000", token="t" * 50, given=sig, app_key="k")
    assert sendcloud.signature_valid(timestamp="1700000000000", token="t" * 50, given=sig.upper(), app_key="k")
    assert not sendcloud.signature_valid(timestamp="1700000000001", token="t" * 50, given=sig, app_key="k")
    assert not sendcloud.signature_valid(timestamp="", token="", given="", app_key="k")
    assert sendcloud.timestamp_seconds("1700000000000") == 1700000000.0
    assert sendcloud.timestamp_seconds("1700000000") == 1700000000.0
    assert sendcloud.timestamp_seconds("soon") is None
    assert sendcloud.timestamp_seconds("nan") is None


def test_the_email_backend_sends_through_sendcloud(sendcloud_settings, httpserver):
    captured = {}

    def handler(request):
        captured.update(_form(request))
        return Response(json.dumps(OK), content_type="application/json")

    httpserver.expect_oneshot_request("/apiv2/mail/send").respond_with_handler(handler)
    message = EmailMultiAlternatives("Verify", "plain body", "SoloSales <noreply@solosales.example>", ["a@b.example"])
    message.attach_alternative("<b>html body</b>", "text/html")
    assert SendCloudEmailBackend().send_messages([message]) == 1
    assert captured["subject"] == "Verify"
    assert captured["plain"] == "plain body" and captured["html"] == "<b>html body</b>"
    assert captured["from"] == "noreply@solosales.example" and captured["fromName"] == "SoloSales"
    assert "xsmtpapi" not in captured  # transactional mail is not tracked


def test_the_email_backend_raises_unless_fail_silently(sendcloud_settings, httpserver):
    httpserver.expect_request("/apiv2/mail/send").respond_with_json({"result": False, "statusCode": 40005})
    message = EmailMultiAlternatives("S", "b", "noreply@solosales.example", ["a@b.example"])
    with pytest.raises(sendcloud.SendCloudAuthError):
        SendCloudEmailBackend().send_messages([message])
    assert SendCloudEmailBackend(fail_silently=True).send_messages([message]) == 0


@pytest.mark.django_db
def test_without_keys_the_backend_uses_the_outbox(settings):
    from solosales.core.models import OutboxMessage

    settings.SENDCLOUD_API_USER = settings.SENDCLOUD_API_KEY = ""
    message = EmailMultiAlternatives("Outbox", "body", "noreply@solosales.example", ["a@b.example"])
    assert SendCloudEmailBackend().send_messages([message]) == 1
    assert OutboxMessage.objects.get().subject == "Outbox"
