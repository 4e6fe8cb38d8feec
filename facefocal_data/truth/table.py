"""The audit on the terminal: one row per number, one column per group (pooled, then each dataset)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

# (row name, path into a group's results); the value's `_ci` sibling is shown after it
ROWS: list[tuple[str, tuple[str, ...]]] = [
    ("images (detector saw)", ("detection", "images")),
    ("no face found", ("detection", "no_face")),
    ("detection rate", ("detection", "detection_rate")),
    ("faces (rows)", ("faces",)),
    ("faces with ground truth", ("faces_with_truth",)),
    ("emotion: faces", ("emotion", "n")),
    ("emotion accuracy", ("emotion", "accuracy")),
    ("emotion UAR", ("emotion", "uar")),
    ("emotion ECE (10 bins)", ("emotion", "ece")),
    ("not-uncertain accuracy", ("emotion", "not_uncertain", "accuracy")),
    ("not-uncertain coverage", ("emotion", "not_uncertain", "coverage")),
    ("age: faces", ("age", "n")),
    ("age MAE (years)", ("age", "mae")),
    ("age 80 % interval coverage", ("age", "interval", "coverage")),
    ("age interval mean width", ("age", "interval", "mean_width")),
    ("age one-age intervals", ("age", "interval", "zero_width")),
    ("AU: faces", ("au", "faces")),
    ("AU macro F1", ("au", "macro_f1")),
]


def audit_table(results: dict[str, Any]) -> Table:
    groups = {"pooled": results["pooled"], **results["by_dataset"]}
    table = Table(
        title=f"facefocal audit: {results['build']} (95 % bootstrap intervals)", title_justify="left"
    )
    table.add_column("", no_wrap=True)
    for name in groups:
        table.add_column(name, justify="right")
    for label, path in ROWS + _detail_rows(results["pooled"]):
        cells = [cell(group, path) for group in groups.values()]
        if any(c != "–" for c in cells):
            table.add_row(label, *cells)
    return table


def _detail_rows(pooled: dict[str, Any]) -> list[tuple[str, tuple[str, ...]]]:
    """Recall of each true emotion and F1 / precision / recall of each AU."""
    rows: list[tuple[str, tuple[str, ...]]] = []
    for emotion in (pooled.get("emotion") or {}).get("per_class_recall", {}):
        rows.append((f"recall {emotion}", ("emotion", "per_class_recall", emotion, "recall")))
    for au in (pooled.get("au") or {}).get("per_au", {}):
        rows += [(f"{au} {m}", ("au", "per_au", au, m)) for m in ("f1", "precision", "recall")]
    return rows


def cell(group: dict[str, Any], path: tuple[str, ...]) -> str:
    """The number with its interval, or – where the group has no such number."""
    node: Any = group
    for key in path[:-1]:
        node = (node or {}).get(key)
    value = (node or {}).get(path[-1])
    if value is None:
        return "–"
    if isinstance(value, int):
        return str(value)
    ci = (node or {}).get(f"{path[-1]}_ci")
    return f"{value:.3f}" + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "")
