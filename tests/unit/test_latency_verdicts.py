"""The redrive-at-latency benchmark's verdicts: the targets of issue 19, read from its results."""

from benchmarks.redrive_at_latency import Result, verdicts


def _result(contender: str, concurrency: str, per_second: float, size: int = 200) -> Result:
    return Result(contender, size, concurrency, 10_000, per_second, 300.0, 250.0, 100.0)


def test_the_engine_is_judged_against_raw_at_equal_concurrency_and_its_defaults_against_the_best() -> None:
    # Given raw at 1, 4 and 16 workers, the engine at the same, and at its defaults
    results = [
        _result("raw", "1", 150),
        _result("raw", "4", 600),
        _result("raw", "16", 1000),
        _result("engine", "1", 140),
        _result("engine", "4", 480),  # 0.80 of raw
        _result("engine", "16", 950),
        _result("engine", "default", 900),
    ]
    # When the verdicts are read
    lines = verdicts(results)
    # Then each concurrency is compared, and the default against raw's best and the move task's cap
    assert lines == [
        "200 B, concurrency 1: engine / raw 0.93 (meets 0.85)",
        "200 B, concurrency 4: engine / raw 0.80 (MISSES 0.85)",
        "200 B, concurrency 16: engine / raw 0.95 (meets 0.85)",
        "200 B, engine at its defaults: 900 msg/s, 0.90x raw at its best (concurrency 16), "
        "the move task's cap 500 msg/s: meets the targets",
    ]


def test_defaults_under_the_move_tasks_cap_miss_even_when_raw_is_slow() -> None:
    # Given a latency at which raw itself cannot pass 500 msg/s
    results = [_result("raw", "16", 450), _result("engine", "16", 440), _result("engine", "default", 430)]
    # Then the defaults miss: the move task would be faster
    assert verdicts(results)[-1].endswith("MISSES the targets")
