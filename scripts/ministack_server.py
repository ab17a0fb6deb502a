"""Start ministack (the local AWS of the demo and the e2e tests), writing Lambda's async failure
records in full.

Run with ministack's own interpreter, as its console script would be:
    BIND_HOST=127.0.0.1 GATEWAY_PORT=4566 .venv-ministack/bin/python scripts/ministack_server.py

Why not the console script: when an async invocation's retries run out, ministack 1.5.33 sends
its OnFailure destination (or DLQ) a record without four fields AWS always writes: `version`,
`timestamp`, `requestContext.requestId` and `responseContext.executedVersion` (see
docs/failure-records.md and ../shared/docs/aws-failure-semantics.md). The failure consumer checks
records against what AWS writes, so it would refuse them, rightly. This adds the missing fields,
with AWS's values, to the record ministack builds; it changes nothing else (the retries, their
count and spacing, the routing and the delivery stay ministack's own). A field ministack already
writes is left as it is. The requestId is a fresh UUID per record: ministack does not keep the
request id of the async invocation.
"""

import contextvars
import datetime
import json
import sys
import uuid
from types import ModuleType
from typing import Any

from ministack import app
from ministack.services import lambda_svc

_routing_async_failure: contextvars.ContextVar[bool] = contextvars.ContextVar("routing", default=False)


def _complete(record: Any) -> Any:
    if not (isinstance(record, dict) and isinstance(record.get("requestContext"), dict)):
        return record
    now = datetime.datetime.now(datetime.UTC)
    record.setdefault("version", "1.0")
    record.setdefault("timestamp", now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z")
    record["requestContext"].setdefault("requestId", str(uuid.uuid4()))
    if isinstance(record.get("responseContext"), dict):
        record["responseContext"].setdefault("executedVersion", "$LATEST")
    return record


class _Json(ModuleType):
    """lambda_svc's `json`, whose dumps completes the record while a failure is being routed."""

    def __init__(self) -> None:
        super().__init__("json")
        self.__dict__.update(json.__dict__)
        self.dumps = self._dumps  # over the copy of json.dumps just made

    @staticmethod
    def _dumps(obj: Any, *args: Any, **kwargs: Any) -> str:
        if _routing_async_failure.get():
            obj = _complete(obj)
        return json.dumps(obj, *args, **kwargs)


_route = lambda_svc._route_async_failure


def _route_async_failure(*args: Any, **kwargs: Any) -> Any:
    token = _routing_async_failure.set(True)
    try:
        return _route(*args, **kwargs)
    finally:
        _routing_async_failure.reset(token)


lambda_svc.json = _Json()
lambda_svc._route_async_failure = _route_async_failure

if __name__ == "__main__":
    sys.argv[0] = "ministack"
    sys.exit(app.main())
