import pytest
import requests

from providers.fakes import serve
from providers.management.commands.fake_provider_server import Command


@pytest.mark.parametrize(
    ("provider", "path", "auth"),
    [
        ("rocketreach", "/api/v2/account/", {"headers": {"Api-Key": "demo-key"}}),
        ("hunter", "/v2/account", {"params": {"api_key": "demo-key"}}),
    ],
)
def test_the_demo_command_serves_each_fake(provider, path, auth):
    app = Command().build_app(provider, "demo-key", 1)
    with serve(app) as url:
        ok = requests.get(url + path, timeout=5, **auth)
        denied = requests.get(url + path, timeout=5)
    assert ok.status_code == 200
    assert denied.status_code == 401
    assert app.count("account") == 2
