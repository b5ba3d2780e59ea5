import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


@pytest.mark.redis
def test_healthz_ok_when_database_and_redis_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


@override_settings(REDIS_URL="redis://127.0.0.1:1/0", JOBS_INLINE=False)
def test_healthz_503_when_redis_is_down(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"] == "unavailable"
    assert response.json()["checks"]["database"] == "ok"


def test_healthz_503_when_database_fails(client, monkeypatch):
    from django.db import connection

    def boom(*a, **k):
        raise RuntimeError("database down")

    monkeypatch.setattr(connection, "cursor", boom)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "unavailable"
