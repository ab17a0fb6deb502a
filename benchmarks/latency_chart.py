"""The picture of benchmarks/redrive_at_latency.py: messages a second against calls in flight, one
line per contender, a panel per message size, SQS's move task's cap drawn across. matplotlib (the
`bench` extra) draws it; `make bench-redrive` installs it."""

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from benchmarks.latency_proxy import Latency
    from benchmarks.redrive_at_latency import Result

MOVE_TASK_CAP = 500.0


def _size_label(size: int) -> str:
    return f"{size // 1000} KB messages" if size >= 1000 else f"{size} B messages"


def draw(results: "list[Result]", latency: "Latency", path: Path, *, default_workers: int = 16) -> None:
    import matplotlib as mpl

    mpl.use("Agg")  # no display: a file
    import matplotlib.pyplot as plt

    sizes = sorted({r.size for r in results})
    figure, axes = plt.subplots(1, len(sizes), figsize=(6 * len(sizes), 4.5), squeeze=False)
    for axis, size in zip(axes[0], sizes, strict=True):
        of_size = [r for r in results if r.size == size]
        for contender, style in (("raw", "o-"), ("engine", "s-")):
            points = sorted(
                (int(r.concurrency), r.per_second)
                for r in of_size
                if r.contender == contender and r.concurrency.isdigit()
            )
            axis.plot(*zip(*points, strict=True), style, label=f"{contender} (batched)")
        for r in of_size:
            if r.contender == "naive":
                axis.plot([1], [r.per_second], "kx", markersize=9, label="naive (one at a time)")
            if r.contender == "engine" and r.concurrency == "default":
                axis.plot(
                    [default_workers], [r.per_second], "r*", markersize=14, label="engine, default settings"
                )
        axis.axhline(MOVE_TASK_CAP, color="grey", linestyle="--", label="StartMessageMoveTask's cap")
        axis.set_xscale("log", base=2)
        workers = sorted({int(r.concurrency) for r in of_size if r.concurrency.isdigit()} | {default_workers})
        axis.set_xticks(workers, labels=[str(w) for w in workers])
        axis.minorticks_off()
        axis.set_xlabel("calls in flight (workers)")
        axis.set_ylabel("messages per second")
        axis.set_title(f"{_size_label(size)}, {latency.delay_ms:g} ± {latency.jitter_ms:g} ms a call")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize="small")
    figure.suptitle("Redrive DLQ -> queue through ministack's SQS at AWS's latency")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
