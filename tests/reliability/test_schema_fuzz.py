"""schemathesis against /api/schema/ on a real gunicorn over this test's (transactional)
database, as a verified client with money, orders and a dispute: no 5xx, and every response
matches the schema (content types, and bodies of every documented status). Bounded by SCHEMA_FUZZ_EXAMPLES."""

import os
import subprocess
import sys

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from disputes.services import dispute_open
from solosales.accounts.services import api_token_create
from tests.disputes.helpers import PNG
from tests.factories import make_client
from tests.orders.helpers import make_order
from tests.reliability.server import BASE_DIR, gunicorn

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]
EXAMPLES = int(os.environ.get("SCHEMA_FUZZ_EXAMPLES", "15"))


@pytest.mark.django_db(transaction=True)
def test_the_api_never_answers_5xx_and_matches_its_schema(tmp_path):
    user = make_client()
    order = make_order(user, status="delivered", leads=4, fund_credits=5000)
    make_order(user, status="queued")
    lead = order.leads.filter(delivered=True).first()
    dispute_open(
        user=user,
        order=order,
        items=[{"lead": lead.pk, "reason": "invalid_email", "note": ""}],
        statement="bounced",
        files=[SimpleUploadedFile("a.png", PNG, content_type="image/png")],
    )
    _t, key = api_token_create(user=user, name="schemathesis")
    with gunicorn(workers=2, threads=2) as url:
        cmd = [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            f"{url}/api/schema/",
            "--url",
            url,
            "-H",
            f"Authorization: Token {key}",
            "--checks",
            # status_code_conformance is left out: some list and ops routes still answer
            # undocumented 404s (an out-of-range ?page=, the ops API for non-staff); see README.
            "not_a_server_error,content_type_conformance,response_schema_conformance",
            "--max-examples",
            str(EXAMPLES),
            "--seed",
            "20261203",
            "--request-timeout",
            "20",
            # One worker: with threads, CPython 3.11.7's ast.parse (which hypothesis calls
            # to describe strategies) can fail with "SystemError: AST constructor recursion
            # depth mismatch" (python/cpython#106905, fixed in 3.11.8).
            "--workers",
            "1",
            "--phases",
            "examples,coverage,fuzzing",
            "--suppress-health-check",
            "all",
            "--no-color",
        ]
        result = subprocess.run(cmd, cwd=BASE_DIR, capture_output=True, text=True, timeout=400)
    tail = (result.stdout + result.stderr)[-6000:]
    print(tail)
    assert result.returncode == 0, tail
