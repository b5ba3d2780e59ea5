"""RQ entry points for the order pipeline: thin, take ids, call into pipeline/services.

Each is safe to run twice or concurrently: the step claim (a conditional UPDATE on the
step's lease) lets only one run do work, and every page commits with its checkpoint.
"""

from __future__ import annotations


def run_step(step_id: int) -> str:
    """Run (or continue) one pipeline step of an order."""
    from orders import pipeline

    return pipeline.run_step(step_id)


def sweep() -> int:
    """Re-enqueue stalled steps (lost enqueue, expired lease, waiting step now due)."""
    from orders import pipeline

    return pipeline.sweep()


def close_due() -> int:
    """Close delivered orders whose dispute window ended."""
    from orders.services import order_close_due

    return order_close_due()
