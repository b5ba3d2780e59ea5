"""Registries through which higher layers (qualification, disputes) plug into the order
lifecycle without orders importing them. Fill them from the higher app's
``AppConfig.ready()``; registering the same function twice is a no-op.

- ``on_list_qa_passed_mql(order)``: an MQL order passed QA#1 (qualification starts nurture).
  Called after the commit that moved the order to ``nurturing``.
- ``blocks_close(order) -> bool``: True keeps a delivered order open past its dispute window
  (disputes: an open dispute).
- ``on_mql_qa_passed(order)``: an MQL order passed QA#2 and was delivered. Called after commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

_ON_LIST_QA_PASSED_MQL: list[Callable] = []
_BLOCKS_CLOSE: list[Callable] = []
_ON_MQL_QA_PASSED: list[Callable] = []


def _add(registry: list[Callable], func: Callable) -> Callable:
    if func not in registry:
        registry.append(func)
    return func


def register_on_list_qa_passed_mql(func: Callable) -> Callable:
    return _add(_ON_LIST_QA_PASSED_MQL, func)


def register_blocks_close(func: Callable) -> Callable:
    return _add(_BLOCKS_CLOSE, func)


def register_on_mql_qa_passed(func: Callable) -> Callable:
    return _add(_ON_MQL_QA_PASSED, func)


def _call_all(registry: list[Callable], order) -> None:
    # One failing listener must not stop the others; each is idempotent and has its own
    # sweeper/periodic fallback (e.g. qualification's nurture tick).
    for func in list(registry):
        try:
            func(order)
        except Exception:
            log.exception("order hook %s failed for order %s", getattr(func, "__name__", func), order.pk)


def call_on_list_qa_passed_mql(order) -> None:
    _call_all(_ON_LIST_QA_PASSED_MQL, order)


def call_on_mql_qa_passed(order) -> None:
    _call_all(_ON_MQL_QA_PASSED, order)


def close_blocked(order) -> bool:
    """Whether any registered hook keeps ``order`` from closing (a failing hook blocks: safe side)."""
    for func in list(_BLOCKS_CLOSE):
        try:
            if func(order):
                return True
        except Exception:
            log.exception("blocks_close hook %s failed for order %s", getattr(func, "__name__", func), order.pk)
            return True
    return False
