import pytest

from tests.factories import make_staff

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/admin/rq/", "/admin/rq/queues/0/empty/"])
def test_only_superusers_reach_the_rq_dashboard(client, path):
    client.force_login(make_staff(groups=("finance",)))
    response = client.get(path)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    client.force_login(make_staff(superuser=True))
    assert client.get("/admin/rq/").status_code == 200
