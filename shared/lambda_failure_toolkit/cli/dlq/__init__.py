"""`dlq`: the on-call console. Ask the failure ledger what failed, look at one failure whole,
redrive failures from the command line (with your own AWS credentials or through the deployed
RedriveFunction), and audit a template or an account for where a failure would be lost.

    dlq failures --stack-name STACK --since 2h                    # what failed, newest first
    dlq failures --stack-name STACK --group-by error_type         # counted by group (or fingerprint)
    dlq show --stack-name STACK FAILURE_ID                        # one whole, with its log lines
    dlq redrive --source-type sqs_dlq --queue-url URL             # a dry run: what would move
    dlq redrive --source-type sqs_dlq --queue-url URL --execute   # move it
    dlq redrive --request next.json --execute                     # go on where a run stopped
    dlq invoke --function-name NAME --request request.json        # the same, run by the function
    dlq invoke --stack-name STACK --request request.json          # the function named by the stack
    dlq audit --template template.yaml                            # where a failure would be lost
    dlq audit --region eu-west-1 --stack-name STACK               # the same rules, a deployed stack

Every option is a field of the redrive request (the RedriveFunction's event); a `--request` file
gives the whole request and the options given override its fields. The request is checked whole
before anything is touched. Without `--execute` a run is a dry run, whatever the file says.

`dlq redrive` runs the engine here: your own IAM rights bound what it may do, so the target
override you give (`--target-queue-url`/`--target-function`, or the request file's `target`) is the
allow-list, and each failure's own target is not restricted. `dlq invoke` runs it in the function,
under the deployment's allow-list.

`--stack-name` names the toolkit's stack, or one that nests it: the ledger, the RedriveFunction and
queues given by an output's name come from its outputs (`stack.py`); options given win.

Exit status of `dlq failures` and `dlq show` (they read, and touch nothing):
  0  listed (even nothing), or shown (a log that cannot be read is said, not an error);
  1  show: no such entry (expired after the ledger's retention, or never recorded), or its body is gone;
  2  refused: a bad option or filter, a cursor of another listing, no ledger given, a ledger that
     cannot be read, AWS credentials, a region or an endpoint that do not work.

Exit status of `dlq redrive` and `dlq invoke`:
  0  the run is complete and nothing failed;
  1  the run did not finish cleanly: some failures (a dry run counts those a real run would have),
     a canary that failed (nothing after it was touched), a run stopped part way (by its deadline,
     --max-failure-rate or consecutive failures: its `next_request` goes on), SQS still moving the
     messages (a move task was started: it is not done yet), or an error once messages were read;
  2  the request was refused and nothing was touched: a bad option or request file, a source or a
     stack that cannot be read, AWS credentials, a region or an endpoint that do not work;
  130  interrupted (Ctrl-C): messages not moved are still in their source.

`dlq audit` (lambda_failure_toolkit.cli.audit; `--template` needs the `audit` extra):
  0  no finding at or above `--fail-on` (default high);
  1  at least one finding at or above `--fail-on`;
  2  bad input: a template that cannot be read or transformed (or the audit extra missing), a bad
     `--parameter`, a stack that does not exist, AWS credentials, a region or an endpoint that do not work.

The modules: `parser` (the options; each console command's in `failures_options` and
`show_options`, the redrive's safety options in `redrive_options`, the shared ones in
`shared_options`), `failures_command`, `show_command` and `request_logs` (the console),
`request_options` (the request from a file and the options), `session` and `stack` (AWS),
`toolkit` (where each resource's name comes from), `run` (the engine here, or the function),
`progress`, `render` (the report), `errors`, and `command` (main). The audit is a package of its
own, `lambda_failure_toolkit.cli.audit`.
"""

from lambda_failure_toolkit.cli.dlq.command import main

__all__ = ["main"]
