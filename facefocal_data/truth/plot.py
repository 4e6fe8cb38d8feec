"""The audit's one PNG: confusion matrix, reliability diagram and age scatter with intervals (pooled)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..evaluate.report import draw_confusion

if TYPE_CHECKING:
    from .audit import AuditReport


def write_plot(report: AuditReport, path: Path) -> Path:
    """Three panels side by side; a label without ground truth gets a panel that says so."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pooled = report.results["pooled"]
    fig, axes = plt.subplots(1, 3, figsize=(16, 5), dpi=100)
    _confusion(axes[0], pooled["emotion"])
    _reliability(axes[1], pooled["emotion"])
    _age(axes[2], report, pooled["age"])
    fig.suptitle(f"facefocal audit: {report.results['build']}", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def _empty(ax: Any, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what} ground truth", ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


def _confusion(ax: Any, emotion: dict[str, Any] | None) -> None:
    """Rows: the true class; shade: share of that row (its recall on the diagonal); text: counts."""
    if emotion is None:
        return _empty(ax, "emotion")
    draw_confusion(ax, emotion["confusion"], "estimated", "ground truth")
    ax.set_title(f"emotion: accuracy {emotion['accuracy']:.2f}, UAR {emotion['uar']:.2f} (n={emotion['n']})")
    return None


def _reliability(ax: Any, emotion: dict[str, Any] | None) -> None:
    """Bars: how often the top class was right per confidence bin; on the diagonal when calibrated."""
    if emotion is None:
        return _empty(ax, "emotion")
    cells = [b for b in emotion["reliability"] if b["count"]]
    width = cells[0]["high"] - cells[0]["low"] if cells else 0.1
    ax.bar([b["low"] for b in cells], [b["accuracy"] for b in cells], width=width, align="edge",
           color="#4c72b0", edgecolor="white", label="accuracy")  # fmt: skip
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="calibrated")
    ax.plot([b["confidence"] for b in cells], [b["accuracy"] for b in cells], "o", color="#dd8452",
            label="accuracy at mean confidence")  # fmt: skip
    for b in cells:
        ax.text(
            b["low"] + width / 2, min(b["accuracy"] + 0.03, 0.97), str(b["count"]), ha="center", fontsize=8
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("top-class probability")
    ax.set_ylabel("share correct")
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(f"reliability: ECE {emotion['ece']:.3f} ({len(emotion['reliability'])} bins; n per bar)")
    return None


def _age(ax: Any, report: AuditReport, age: dict[str, Any] | None) -> None:
    """Estimated against true age, one colour per dataset, bars from the 80 % interval."""
    if age is None:
        return _empty(ax, "age")
    faces = [f for f in report.truth.faces if f.age is not None]
    for dataset in sorted({f.dataset for f in faces}):
        pairs = [f.age for f in faces if f.dataset == dataset and f.age is not None]
        low = [max(p.pred - p.interval[0], 0) if p.interval else 0 for p in pairs]
        high = [max(p.interval[1] - p.pred, 0) if p.interval else 0 for p in pairs]
        ax.errorbar([p.gold for p in pairs], [p.pred for p in pairs], yerr=[low, high], fmt="o", ms=3,
                    elinewidth=0.6, alpha=0.7, label=dataset)  # fmt: skip
    top = max(max(f.age.gold, f.age.pred) for f in faces if f.age is not None) + 5
    ax.plot([0, top], [0, top], "k--", lw=1)
    ax.set_xlabel("true age (years)")
    ax.set_ylabel("estimated age, 80 % interval")
    ax.legend(fontsize=8)
    interval = age["interval"]
    covered = f", interval coverage {interval['coverage']:.2f}" if interval else ""
    ax.set_title(f"age: MAE {age['mae']:.1f} years{covered} (n={age['n']})")
    return None
