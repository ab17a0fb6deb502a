"""Takes a payment for an order (asynchronously); the provider refuses this shop's orders."""


def handler(event, context):
    raise RuntimeError(f"the payment provider refused order {event.get('order_id')}")
