import os

import pytest
from hypothesis import HealthCheck, settings

# As in Lambda, the function's environment exists before any module creates Powertools' Logger,
# Tracer and Metrics (they read it once, at creation).
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "tests")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "LambdaFailureToolkit")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

# No per-example deadline: CI machines are shared and a slow example is not a failure.
# `pytest --hypothesis-profile=thorough` runs 25x more examples (for a fuzzing session, not CI).
settings.register_profile(
    "default", deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("thorough", parent=settings.get_profile("default"), max_examples=7500)
settings.load_profile("default")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    tiers = {
        "tests/unit/": "unit",
        "tests/handlers/": "handler",
        "tests/template_tests/": "template",
        "tests/sam_local/": "sam_local",
        "tests/e2e/": "e2e",
    }
    for item in items:
        path = str(item.path).replace("\\", "/")
        for folder, marker in tiers.items():
            if folder in path:
                item.add_marker(getattr(pytest.mark, marker))
