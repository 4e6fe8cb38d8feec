"""Evaluation outputs: a Markdown table, PNG plots, and the one-screen terminal summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

HEADLINE = [
    ("AU macro F1", ("au", "macro_f1")),
    ("emotion acc", ("emotion", "accuracy")),
    ("emotion UAR", ("emotion", "uar")),
    ("age MAE", ("age", "mae")),
    ("age bin acc", ("age", "bin_accuracy")),
    ("BLEU-4", ("text", "bleu_4")),
    ("ROUGE-L", ("text", "rouge_l")),
    ("CIDEr-D", ("text", "cider_d")),
    ("fact precision", ("faithfulness", "fact_precision")),
    ("fact recall", ("faithfulness", "fact_recall")),
    ("hallucination", ("faithfulness", "hallucination_rate")),
    ("grounding", ("faithfulness", "region_grounding")),
]


def value(group: dict[str, Any], path: tuple[str, str]) -> str:
    section = group.get(path[0]) or {}
    number = section.get(path[1])
    if number is None:
        return "–"
    ci = section.get(f"{path[1]}_ci")
    return f"{number:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def markdown(evaluation: Any) -> str:
    results = evaluation.results
    lines = [
        f"# Evaluation of {results['predictions']} on {results['data']}",
        "",
        f"{results['scored']} of {results['lines']} prediction lines scored; skipped: "
        + (", ".join(f"{k} {v}" for k, v in results["skipped"].items()) or "none"),
        "",
        "| group | n | " + " | ".join(name for name, _ in HEADLINE) + " |",
        "|---|---|" + "---|" * len(HEADLINE),
    ]
    groups = {"overall": results["overall"], **results["by_region_type"]}
    for name, group in groups.items():
        lines.append(f"| {name} | {group['n']} | " + " | ".join(value(group, p) for _, p in HEADLINE) + " |")
    return "\n".join(lines) + "\n"


def plots(evaluation: Any, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    overall = evaluation.results["overall"]
    made = []
    if "emotion" in overall:
        confusion = overall["emotion"]["confusion"]
        fig, ax = plt.subplots(figsize=(5, 4.2), dpi=110)
        draw_confusion(ax, confusion, "predicted", "gold")
        made.append(_save(fig, out / "emotion_confusion.png", plt))
    if "au" in overall and overall["au"]["per_au"]:
        per_au = overall["au"]["per_au"]
        fig, ax = plt.subplots(figsize=(7, 3), dpi=110)
        ax.bar(list(per_au), [v["f1"] for v in per_au.values()], color="#4c72b0")
        ax.set_ylim(0, 1)
        ax.set_title("F1 per AU")
        ax.tick_params(axis="x", rotation=60)
        made.append(_save(fig, out / "au_f1.png", plt))
    errors = (overall.get("age") or {}).get("errors") or []
    if errors:
        fig, ax = plt.subplots(figsize=(5, 3), dpi=110)
        ax.hist(errors, bins=20, color="#4c72b0")
        ax.set_xlabel("|predicted - gold| age, years")
        ax.set_title("Age error")
        made.append(_save(fig, out / "age_error.png", plt))
    return made


def draw_confusion(ax: Any, confusion: dict[str, Any], xlabel: str, ylabel: str) -> None:
    """`emotion_scores`' confusion matrix: counts as text, shaded by their share of the row, so
    the diagonal reads as each gold class's recall whatever the class sizes."""
    shares = [[n / max(sum(row), 1) for n in row] for row in confusion["matrix"]]
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(confusion["columns"])), confusion["columns"], rotation=60)
    ax.set_yticks(range(len(confusion["rows"])), confusion["rows"])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    for i, row in enumerate(confusion["matrix"]):
        for j, n in enumerate(row):
            ax.text(j, i, str(n), ha="center", va="center", color="white" if shares[i][j] > 0.6 else "black")


def _save(fig: Any, path: Path, plt: Any) -> Path:
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def summary_lines(evaluation: Any) -> list[str]:
    overall = evaluation.results["overall"]
    return [f"{name:<15} {value(overall, path)}" for name, path in HEADLINE if value(overall, path) != "–"]
