"""Serve a fake RocketReach or Hunter API on 127.0.0.1 for the demo.

manage.py fake_provider_server rocketreach --port 8101 --api-key demo-key
ROCKETREACH_API_BASE=http://127.0.0.1:8101/api/v2 ROCKETREACH_API_KEY=demo-key make run
"""

from django.core.management.base import BaseCommand
from werkzeug.serving import run_simple

from providers.fakes.hunter import FakeHunter
from providers.fakes.rocketreach import FakeRocketReach

FAKES = {"rocketreach": FakeRocketReach, "hunter": FakeHunter}


class Command(BaseCommand):
    help = "Serve a local fake of a provider API (rocketreach or hunter) for the demo."

    def add_arguments(self, parser):
        parser.add_argument("provider", choices=sorted(FAKES))
        parser.add_argument("--port", type=int, default=8101)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--api-key", default="demo-key")
        parser.add_argument("--seed", type=int, default=1)

    def build_app(self, provider: str, api_key: str, seed: int):
        return FAKES[provider](api_key=api_key, seed=seed)

    def handle(self, *args, provider, port, host, api_key, seed, **options):
        app = self.build_app(provider, api_key, seed)
        self.stdout.write(f"fake {provider} API on http://{host}:{port}{app.prefix} (key {api_key!r}); Ctrl-C stops it")
        run_simple(host, port, app, threaded=True, use_reloader=False)
