"""A failure's log lines: its function's CloudWatch Logs events that carry its request id, within a
window around the failure and up to a number of lines. When there are none to show, why: the group
is gone, reading it is not allowed, or nothing matched in the window (retention, another group)."""

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict

from lambda_failure_toolkit.retry import RetryPolicy, error_code, error_message

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

__all__ = ["LogLine", "RequestLogs", "read_request_logs"]

_AFTER: Final = timedelta(minutes=5)
"""A record is written after the last attempt ends: its lines come before it, a few after."""
_MAX_CALLS: Final = 20
"""FilterLogEvents may answer empty pages with a token over a long window: a bounded number of calls."""
_DENIED: Final = frozenset({"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"})


class LogLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime
    stream: str
    message: str


class RequestLogs(BaseModel):
    model_config = ConfigDict(frozen=True)

    log_group: str
    request_id: str | None
    start: datetime
    end: datetime
    lines: tuple[LogLine, ...] = ()
    truncated: bool = False
    """More lines matched than were read."""
    problem: str | None = None
    """Why no line could be read (none matching is not a problem: `lines` is then empty)."""


def read_request_logs(
    logs: "CloudWatchLogsClient",
    *,
    log_group: str,
    request_id: str | None,
    around: datetime,
    window: timedelta,
    limit: int,
    retry: RetryPolicy | None = None,
) -> RequestLogs:
    start, end = around - window, around + _AFTER
    found = RequestLogs(log_group=log_group, request_id=request_id, start=start, end=end)
    if not request_id:
        return found.model_copy(
            update={"problem": "the entry has no request id (the event never reached the function)"}
        )
    arguments: dict[str, Any] = {
        "logGroupName": log_group,
        "filterPattern": f'"{request_id}"',  # a quoted term: the id as it is, dashes included
        "startTime": int(start.timestamp() * 1000),
        "endTime": int(end.timestamp() * 1000),
    }
    lines: list[LogLine] = []
    try:
        for _ in range(_MAX_CALLS):
            response = (retry or RetryPolicy()).call(
                logs.filter_log_events, limit=limit - len(lines), **arguments
            )
            lines += [_line(event) for event in response.get("events", [])]
            token = response.get("nextToken")
            if len(lines) >= limit or not token:
                return found.model_copy(update={"lines": tuple(lines[:limit]), "truncated": bool(token)})
            arguments["nextToken"] = token
    except (ClientError, BotoCoreError) as exc:
        return found.model_copy(update={"lines": tuple(lines), "problem": _problem(exc, log_group)})
    return found.model_copy(update={"lines": tuple(lines), "truncated": True})


def _line(event: Any) -> LogLine:
    return LogLine(
        at=datetime.fromtimestamp(int(event.get("timestamp", 0)) / 1000, UTC),
        stream=str(event.get("logStreamName", "")),
        message=str(event.get("message", "")).rstrip("\n"),
    )


def _problem(error: BaseException, log_group: str) -> str:
    if not isinstance(error, ClientError):
        return f"cannot read {log_group}: {error}"
    code = error_code(error)
    if code == "ResourceNotFoundException":
        return (
            f"the log group {log_group} does not exist: deleted, never created (the function never "
            "logged), or the function logs to another group (give --log-group)"
        )
    if code in _DENIED:
        return (
            f"not allowed to read {log_group} ({code}): the caller needs logs:FilterLogEvents on it "
            "(docs/permissions.md, the operator's rights)"
        )
    return f"cannot read {log_group} ({code}: {error_message(error)})"
