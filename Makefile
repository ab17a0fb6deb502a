# Every target creates what it needs: a fresh machine only needs python3.13 and make.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.13
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The library supports the Lambda runtimes python3.12 and python3.13: the unit tier runs on both.
# PYENV_VERSION lets pyenv's shim find 3.12 where .python-version says 3.13; elsewhere it is ignored.
PYTHON312 ?= python3.12
VENV312 ?= .venv-py312
STAMP312 := $(VENV312)/.installed
# ministack, the local AWS account of the demo, the e2e tests and the benchmarks: a venv of its own (it pins its
# own botocore), with the SAM translator its CloudFormation needs for `sam deploy`, resolved together with
# boto3/botocore at ministack's pin (installed apart, the translator would upgrade botocore past it).
MINISTACK_VENV ?= .venv-ministack
MINISTACK_VERSION := 1.5.33
MINISTACK_BOTOCORE := 1.43.106
MINISTACK_STAMP = $(MINISTACK_VENV)/.installed-$(MINISTACK_VERSION)-$(SAM_TRANSLATOR_VERSION)
# The SAM CLI of the demo and the e2e tests (sam build, sam deploy, sam remote invoke): a venv of its own.
SAM_VENV ?= .venv-sam
SAM_CLI_VERSION := 1.170.0
SAM_STAMP := $(SAM_VENV)/.installed-$(SAM_CLI_VERSION)
LOCAL_ACCOUNT := SAM_CLI=$(SAM_VENV)/bin/sam MINISTACK_VENV=$(MINISTACK_VENV)
BENCH_ARGS ?=
# The scanners (checkov, cfn-lint, and aws-sam-translator for the SAM transform): a venv of their own, as both
# pin versions the project's runtime does not share (boto3, pydantic).
SCAN_VENV ?= .venv-scan
CHECKOV_VERSION := 3.3.30
CFN_LINT_VERSION := 1.58.0
SAM_TRANSLATOR_VERSION := 1.115.0
SCAN_STAMP := $(SCAN_VENV)/.installed-$(CHECKOV_VERSION)-$(CFN_LINT_VERSION)-$(SAM_TRANSLATOR_VERSION)

.PHONY: help invoke demo sam-venv ministack-venv test-e2e venv scan-venv inspect lint format typecheck scan permissions unit unit-py312 test-fast test-sam-local test pr bench-redrive bench-redrive-loopback bench-storm bench-replay clean

help:  ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-22s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install CPython 3.13 (or run make PYTHON=/path/to/python3.13)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	# The audit extra's SAM translator pins pydantic~=2.13 while the layer is tested on constraints.txt's;
	# it runs on ours (tests/unit/test_audit_rules.py), so it comes in without its pins (decision log 62).
	$(BIN)/python -m pip install --quiet --no-deps aws-sam-translator==$(SAM_TRANSLATOR_VERSION)
	touch $@

venv: $(STAMP)  ## create .venv with the runtime and dev dependencies

# The sample SNS subscriptions' DLQs (events/failures/first-hop/): nothing in their messages says what they are.
SAMPLE_FIRST_HOP_DLQS := $(foreach queue,order-events-subscription-dlq-dev order-events-subscription-dlq-dev.fifo order-webhook-subscription-dlq-dev,--first-hop-dlq arn:aws:sqs:eu-west-1:123456789012:$(queue))

inspect: $(STAMP)  ## parse every sample failure record in events/failures/ and show what each one is
	@$(BIN)/failure-record $(SAMPLE_FIRST_HOP_DLQS) $$(find events/failures -name '*.json' | sort) \
		|| echo "(the lines before the table are sample records refused on purpose, with the reason given)"

lint: $(STAMP)  ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)  ## apply ruff's formatting and safe fixes
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(STAMP)  ## mypy --strict on the library, the handlers, the sample domain, the demo and make invoke
	$(BIN)/mypy shared/lambda_failure_toolkit handlers orders demo local_invoke

$(SCAN_STAMP):
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install CPython 3.13 (or run make PYTHON=/path/to/python3.13)"; exit 1; }
	rm -rf $(SCAN_VENV)
	$(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SCAN_VENV)/bin/python -m pip install --quiet checkov==$(CHECKOV_VERSION) cfn-lint==$(CFN_LINT_VERSION) aws-sam-translator==$(SAM_TRANSLATOR_VERSION)
	touch $@

scan-venv: $(SCAN_STAMP)  ## create .venv-scan with checkov, cfn-lint and the SAM translator

scan: $(SCAN_STAMP)  ## cfn-lint and checkov on the template, its defaults and every option on: no finding allowed
	scripts/scan-template $(SCAN_VENV)/bin/python

permissions: $(STAMP) $(SCAN_STAMP)  ## print each function's role and invokers as derived from the template
	SCAN_PYTHON=$(SCAN_VENV)/bin/python $(BIN)/python -m tests.permissions

unit: $(STAMP)  ## the pure unit tier only
	$(BIN)/pytest -m unit

$(STAMP312): pyproject.toml constraints.txt
	@PYENV_VERSION=3.12 $(PYTHON312) --version >/dev/null 2>&1 || { echo "$(PYTHON312) not found: install CPython 3.12 (or run make PYTHON312=/path/to/python3.12)"; exit 1; }
	PYENV_VERSION=3.12 $(PYTHON312) -m venv $(VENV312)
	$(VENV312)/bin/python -m pip install --quiet --upgrade pip
	$(VENV312)/bin/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	# As in .venv: pytest collects every module, and the audit's import the translator (decision log 62).
	$(VENV312)/bin/python -m pip install --quiet --no-deps aws-sam-translator==$(SAM_TRANSLATOR_VERSION)
	touch $@

unit-py312: $(STAMP312)  ## the unit tier on Python 3.12, the other Lambda runtime the library supports
	$(VENV312)/bin/pytest -m unit -p no:cacheprovider -q

test-fast: lint typecheck scan unit-py312 $(SAM_STAMP) $(MINISTACK_STAMP)  ## every gate but the sam local invoke tier (no Docker needed)
	$(LOCAL_ACCOUNT) SCAN_PYTHON=$(SCAN_VENV)/bin/python $(BIN)/pytest -m "not sam_local" --cov --cov-report=term

# The arguments are checked before Docker is brought up, so that a mistyped name costs a second.
INVOKE_ARGS = "$(FUNCTION)" "$(EVENT)" $(foreach assignment,$(VARS),--set "$(assignment)")
invoke: $(STAMP)  ## sam local invoke FUNCTION with EVENT (VARS="NAME=value") against a local account on 127.0.0.1; alone: the functions and their sample events
	@$(BIN)/python -m local_invoke $(INVOKE_ARGS) --check
	@if [ -n "$(FUNCTION)$(EVENT)" ]; then scripts/with-sam-local $(BIN)/python -m local_invoke $(INVOKE_ARGS); fi

test-sam-local: $(STAMP)  ## sam build + sam local invoke of every function with every sample event
	scripts/with-sam-local $(BIN)/pytest -m sam_local -p no:cacheprovider

test: lint typecheck scan unit-py312 $(SAM_STAMP) $(MINISTACK_STAMP)  ## every gate: lint, types, cfn-lint and checkov, the unit tier on 3.12, all test tiers on 3.13 (unit, handler, template, sam local invoke, e2e), coverage
	$(LOCAL_ACCOUNT) SCAN_PYTHON=$(SCAN_VENV)/bin/python scripts/with-sam-local $(BIN)/pytest --cov --cov-report=term

pr: test  ## what CI runs

$(MINISTACK_STAMP):
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install CPython 3.13 (or run make PYTHON=/path/to/python3.13)"; exit 1; }
	rm -rf $(MINISTACK_VENV)
	$(PYTHON) -m venv $(MINISTACK_VENV)
	$(MINISTACK_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(MINISTACK_VENV)/bin/python -m pip install --quiet ministack==$(MINISTACK_VERSION) \
		aws-sam-translator==$(SAM_TRANSLATOR_VERSION) botocore==$(MINISTACK_BOTOCORE) boto3==$(MINISTACK_BOTOCORE)
	touch $@

ministack-venv: $(MINISTACK_STAMP)  ## create .venv-ministack: ministack and the SAM translator, on Python 3.13

$(SAM_STAMP):
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install CPython 3.13 (or run make PYTHON=/path/to/python3.13)"; exit 1; }
	rm -rf $(SAM_VENV)
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/python -m pip install --quiet aws-sam-cli==$(SAM_CLI_VERSION)
	touch $@

sam-venv: $(SAM_STAMP)  ## create .venv-sam: the SAM CLI

demo: $(STAMP) $(SAM_STAMP) $(MINISTACK_STAMP)  ## the failure story on a local AWS account: deploy, fail, capture, redrive (about a minute)
	$(LOCAL_ACCOUNT) $(BIN)/python -m demo

test-e2e: $(STAMP) $(SAM_STAMP) $(MINISTACK_STAMP)  ## the e2e tier only: the stack deployed to ministack, real traffic
	$(LOCAL_ACCOUNT) $(BIN)/pytest -m e2e -p no:cacheprovider

bench-redrive-loopback: $(STAMP) $(MINISTACK_STAMP)  ## the redrive on the loopback (no added latency): engine vs naive loop vs raw SQS batches, and its memory at 1k/10k/50k (BENCH_ARGS="--repeat 1")
	MINISTACK_VENV=$(MINISTACK_VENV) scripts/with-ministack $(BIN)/python benchmarks/redrive_throughput.py $(BENCH_ARGS)

BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP) pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,bench]"
	touch $@

bench-redrive: $(BENCH_STAMP) $(MINISTACK_STAMP)  ## the redrive at AWS's latency (a proxy adds 15 ms a call): naive, raw and engine by calls in flight, 200 B and 100 KB; writes the chart
	MINISTACK_VENV=$(MINISTACK_VENV) scripts/with-ministack $(BIN)/python benchmarks/redrive_at_latency.py \
		--json benchmarks/results/redrive-at-latency.json --chart docs/redrive-at-latency.png $(BENCH_ARGS)

bench-storm: $(STAMP) $(SAM_STAMP) $(MINISTACK_STAMP)  ## the deployed failure consumer under 10,000 failure records, its AWS calls at AWS's latency
	$(LOCAL_ACCOUNT) $(BIN)/python benchmarks/consumer_storm.py --json benchmarks/results/consumer-storm.json $(BENCH_ARGS)

bench-replay: $(STAMP) $(MINISTACK_STAMP)  ## a Lambda DLQ and an OnFailure destination replayed by async Invoke at AWS's latency: the engine by workers against a naive loop
	MINISTACK_VENV=$(MINISTACK_VENV) scripts/with-ministack $(BIN)/python benchmarks/replay_at_latency.py \
		--json benchmarks/results/replay-at-latency.json $(BENCH_ARGS)

clean:  ## remove the environment and caches
	rm -rf $(VENV) $(VENV312) $(MINISTACK_VENV) $(SAM_VENV) $(SCAN_VENV) .pytest_cache .mypy_cache .ruff_cache .coverage .hypothesis
