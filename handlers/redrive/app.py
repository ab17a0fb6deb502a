"""The RedriveFunction: an operator's redrive request in, a typed report out.

Run it with `sam remote invoke RedriveFunction --event-file events/redrive/<case>.json` (or
`dlq invoke`). A request is a dry run unless it says `"dry_run": false`. A request that cannot run
(an unknown field, a limit out of range, a target outside the allow-list set at deployment, a queue
that cannot be read) is answered with `status: rejected` and its problems: nothing is touched.
The function has no resource-based policy: only IAM principals of the account allowed to invoke it
can run it. Every run is logged with who asked, what, and how many (`redrive requested` /
`redrive finished`).
"""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambda_failure_toolkit.observability import logger, metrics, tracer
from lambda_failure_toolkit.redrive import RedriveRequestError, parse_redrive_request
from lambda_failure_toolkit.redrive.engine import Redrive, RedriveSourceError
from lambda_failure_toolkit.redrive.report import RedriveReport, RunStatus
from lambda_failure_toolkit.redrive.wiring import redrive_engine, redrive_targets
from lambda_failure_toolkit.retry import Deadline


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: Any, context: LambdaContext, engine: Redrive | None = None) -> dict[str, Any]:
    try:
        request = parse_redrive_request(event, redrive_targets())
        report = (engine or redrive_engine()).run(request, deadline=Deadline.from_lambda_context(context))
    except (RedriveRequestError, RedriveSourceError) as error:
        problems = error.problems if isinstance(error, RedriveRequestError) else [str(error)]
        logger.warning("redrive request refused", extra={"problems": problems})
        return RedriveReport(
            run_id=context.aws_request_id,
            status=RunStatus.REJECTED,
            dry_run=not (isinstance(event, dict) and event.get("dry_run") is False),
            source="",
            problems=tuple(problems),
            message="Nothing was moved: fix the request and run it again.",
        ).model_dump(mode="json")
    if not report.dry_run:
        for name, value in (
            ("MessagesRedriven", report.moved),
            ("RedriveFailures", report.failed),
            ("RedriveSuspectedDuplicates", report.suspected_duplicates),
        ):
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    return report.model_dump(mode="json")
