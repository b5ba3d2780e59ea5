"""Shared fixtures of the reliability suite: one client's objects (test_access_matrix.world)."""

from tests.reliability.test_access_matrix import world  # noqa: F401
