"""What an undelivered event (the first hop) is replayed as: the event exactly as the service that
missed its target would have delivered it, to that one target. Never put back on the bus or published
to the topic again: that would reach every other rule and subscriber a second time.

- EventBridge invokes a function asynchronously with the event (or its transformed input) as the
  payload: the DLQ message's body, byte for byte.
- SNS invokes a function asynchronously with `{"Records": [{"EventSource": "aws:sns", ..., "Sns":
  {...}}]}`. Its DLQ holds the SNS JSON envelope instead, whose keys differ only in `SigningCertURL`
  and `UnsubscribeURL` (the event says `SigningCertUrl` and `UnsubscribeUrl`), and which leaves out
  an empty `Subject` and `MessageAttributes` (the event has null and {}).
"""

from typing import Any, Final

from lambda_failure_toolkit.redrive.work import FailureFacts, Refuse, dumps

__all__ = ["first_hop_event", "no_target_reason", "sns_record"]

_LAMBDA_KEYS: Final = {"SigningCertURL": "SigningCertUrl", "UnsubscribeURL": "UnsubscribeUrl"}


def first_hop_event(facts: FailureFacts) -> str | Refuse:
    """The event to invoke the target with, or why there is none."""
    hop = facts.first_hop
    assert hop is not None  # noqa: S101 -- delivery entries always have one
    if hop.service == "eventbridge":
        return facts.event()
    if hop.raw_delivery or not isinstance(facts.payload, dict):
        return Refuse(
            "raw delivery: the DLQ holds the published message without its SNS envelope, and only "
            "queue and HTTP subscribers get raw messages (a function gets the envelope's fields), so "
            "there is no SNS event to rebuild for a function"
        )
    if hop.subscription_arn is None:
        return Refuse(
            "the SNS envelope names no subscription (its UnsubscribeURL has no SubscriptionArn): the "
            "event's EventSubscriptionArn cannot be given as SNS would"
        )
    return dumps({"Records": [sns_record(facts.payload, hop.subscription_arn)]})


def sns_record(envelope: dict[str, Any], subscription_arn: str) -> dict[str, Any]:
    """One `Records[]` item of the event SNS invokes a function with, from the envelope SNS wrote."""
    notification = {_LAMBDA_KEYS.get(key, key): value for key, value in envelope.items()}
    notification.setdefault("Subject", None)
    notification.setdefault("MessageAttributes", {})
    return {
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": subscription_arn,
        "Sns": notification,
    }


def no_target_reason(facts: FailureFacts) -> str:
    hop = facts.first_hop
    if hop is not None and hop.service == "eventbridge":
        return (
            f"no target: the rule's target {hop.target_arn} is not a Lambda function, and the redrive "
            "invokes functions only; give target.function to send the event to one"
        )
    return (
        "no target: an SNS subscription's DLQ message does not name its subscriber; give target.function "
        "(the function whose subscription has this DLQ)"
    )
