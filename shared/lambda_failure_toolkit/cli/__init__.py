"""The operator's command-line tools, `dlq` and `failure-record` (the `cli` extra: boto3 and rich).

Never in the Lambda layer, and nothing outside this package imports it: a function needs none of it.
"""
