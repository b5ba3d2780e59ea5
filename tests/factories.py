"""Personas and factories shared by every test module."""

import itertools

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

_seq = itertools.count(1)
PASSWORD = "correct-horse-battery-9"


def make_client(email=None, *, verified=True, password=PASSWORD, **extra):
    User = get_user_model()
    email = email or f"client{next(_seq)}@example.com"
    user = User.objects.create_user(email=email, password=password, **extra)
    EmailAddress.objects.create(user=user, email=email, verified=verified, primary=True)
    return user


def make_staff(email=None, *, groups=("ops_qa", "ops_arbitration", "finance"), superuser=False):
    User = get_user_model()
    email = email or f"staff{next(_seq)}@example.com"
    user = User.objects.create_user(email=email, password=PASSWORD, is_staff=True, is_superuser=superuser)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    user.groups.set(Group.objects.filter(name__in=groups))
    return user
