import pytest
from django.contrib.auth.models import Group

pytestmark = pytest.mark.django_db


def test_one_migrate_gives_every_group_its_permissions():
    """The test database was made by a single migrate: each group already has its perms."""
    from solosales.core.groups import GROUP_PERMISSIONS

    for name, perms in GROUP_PERMISSIONS.items():
        have = {f"{p.content_type.app_label}.{p.codename}" for p in Group.objects.get(name=name).permissions.all()}
        assert set(perms) <= have, f"{name} misses {set(perms) - have}"


def test_ops_qa_cannot_adjust_the_ledger_or_decide_disputes():
    have = {p.codename for p in Group.objects.get(name="ops_qa").permissions.all()}
    assert "post_adjustment" not in have
    assert "decide_dispute" not in have
