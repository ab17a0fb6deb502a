from hypothesis import HealthCheck, settings

# No per-example deadline: CI machines are shared and a slow example is not a failure.
# `pytest --hypothesis-profile=thorough` runs 25x more examples (for a fuzzing session, not CI).
settings.register_profile(
    "default", deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("thorough", parent=settings.get_profile("default"), max_examples=7500)
settings.load_profile("default")
