"""RQ entry points (thin: take ids, load, call a service). Enqueued on commit only.

Services are imported inside each function because services import this module to
enqueue these functions by reference.
"""

from orders.models import Order


def nurture_start(order_id: int) -> None:
    from qualification import services

    order = Order.objects.filter(pk=order_id).first()
    if order is not None:
        services.nurture_start(order=order)


def nurture_step(order_id: int, step_key: str) -> None:
    from qualification import services

    order = Order.objects.filter(pk=order_id).first()
    if order is not None:
        services.nurture_step_run(order=order, step_key=step_key)


def message_send(message_id: int) -> None:
    from qualification import services

    services.message_send(message_id=message_id)


def messages_send(message_ids: list[int]) -> None:
    from qualification import services

    for message_id in message_ids:
        services.message_send(message_id=message_id)


def nurture_finish(order_id: int) -> None:
    from qualification import services

    order = Order.objects.filter(pk=order_id).first()
    if order is not None:
        services.nurture_finish(order=order)


def event_process(event_id: int) -> None:
    from qualification import services

    services.event_process(event_id=event_id)


def events_process_pending() -> None:
    from qualification import services

    services.events_process_pending()


def nurture_tick() -> None:
    from qualification import services

    services.nurture_tick()
