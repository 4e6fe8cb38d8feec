"""`facefocal card DIR`: a dataset card (README.md with Hub YAML) and its plots, from a build.

The statistics (`dataset_stats`) are computed from the shards the manifest lists: faces per
split and source, AU frequencies (present / observable, per AU), emotion and age distributions,
and who wrote the descriptions (LLM, template fallback, template, human).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from . import __version__
from .exporters.base import iter_records
from .models.manifest import model_spec
from .record import ARROW_SCHEMA, FaceRecord


def dataset_stats(records: Iterable[FaceRecord]) -> dict[str, Any]:
    """Statistics over records (e.g. `iter_records(build)`), in one pass."""
    faces, regions = 0, 0
    splits: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    emotions: Counter[str] = Counter()
    ages: list[float] = []
    au_present: Counter[str] = Counter()
    au_observable: Counter[str] = Counter()
    writers: Counter[str] = Counter()
    for record in records:
        faces += 1
        splits[record.split or "none"] += 1
        sources[record.source_dataset] += 1
        if record.emotion is not None:
            emotions[record.emotion.label] += 1
        if record.age is not None and record.age.years is not None:
            ages.append(record.age.years)
        for region in record.regions:
            regions += 1
            au_observable.update(region.observable_aus)
            au_present.update(a.au for a in region.aus if a.present)
            if region.description is not None:
                d = region.description
                writers["template (fallback)" if d.fallback_used else d.describer] += 1
    texts = sum(writers.values())
    return {
        "faces": faces,
        "regions": regions,
        "splits": dict(splits),
        "sources": dict(sources),
        "emotions": dict(emotions.most_common()),
        "ages": ages,
        "au_frequency": {au: round(au_present[au] / n, 4) for au, n in sorted(au_observable.items()) if n},
        "describers": dict(writers),
        "fallback_rate": round(writers["template (fallback)"] / texts, 4) if texts else None,
    }


def write_plots(stats: dict[str, Any], out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    charts = [
        ("au_frequency.png", "AU present / observable, over all regions", stats["au_frequency"], "bar"),
        ("emotions.png", "Faces per emotion label", stats["emotions"], "bar"),
        ("ages.png", "Age (years) of the faces", stats["ages"], "hist"),
    ]
    for name, title, data, kind in charts:
        if not data:
            continue
        fig, ax = plt.subplots(figsize=(7, 3.2), dpi=110)
        if kind == "bar":
            ax.bar(list(data), list(data.values()), color="#4c72b0")
            ax.tick_params(axis="x", rotation=60)
        else:
            ax.hist(data, bins=range(0, 101, 5), color="#4c72b0")
        ax.set_title(title)
        fig.tight_layout()
        fig.savefig(out / name)
        plt.close(fig)
        made.append(name)
    return made


def _features() -> list[dict[str, str]]:
    features = []
    for field in ARROW_SCHEMA:
        kind = str(field.type)
        dtype = "image" if field.name == "image" else kind if "<" not in kind else kind.split("<")[0]
        features.append({"name": field.name, "dtype": dtype})
    return features


def _licences(manifest: dict[str, Any]) -> list[dict[str, str]]:
    rows = []
    for model in manifest.get("models", []):
        try:
            spec = model_spec(model["name"])
            rows.append(
                {"name": spec.name, "licence": spec.licence, "source": spec.source, "sha256": spec.sha256}
            )
        except KeyError:
            rows.append(
                {"name": model["name"], "licence": "unknown", "source": "", "sha256": model.get("sha256", "")}
            )
    return rows


def card_text(data_dir: Path, stats: dict[str, Any], plots: list[str]) -> str:
    manifest = json.loads((data_dir / "manifest.json").read_text())
    licences = _licences(manifest)
    yaml_lines = [
        "---",
        "license: other  # see 'Models and licences': each label inherits its model's terms",
        "task_categories:",
        "- image-to-text",
        "- visual-question-answering",
        "tags:",
        "- face",
        "- facial-action-units",
        "- region-captioning",
        "configs:",
        "- config_name: default",
        "  data_files:",
        "  - split: all  # every row has a `split` column (train / validation / test)",
        "    path: shards/*.parquet",
        "dataset_info:",
        "  features:",
        *[f"  - name: {f['name']}\n    dtype: {f['dtype']}" for f in _features()],
        "---",
    ]
    table = "\n".join(f"| {k} | {v} |" for k, v in sorted(stats["splits"].items()))
    au = "\n".join(f"| {k} | {v:.2f} |" for k, v in stats["au_frequency"].items())
    models = "\n".join(
        f"| {m['name']} | {m['licence']} | `{m['source']}` | `{m['sha256'][:12]}` |" for m in licences
    )
    writers = ", ".join(f"{k}: {v}" for k, v in stats["describers"].items()) or "none"
    fallback = "n/a" if stats["fallback_rate"] is None else f"{100 * stats['fallback_rate']:.1f} %"
    ages = stats["ages"]
    sources = ", ".join(f"{k} ({v})" for k, v in stats["sources"].items())
    age_line = (
        f"{min(ages):.0f}-{max(ages):.0f} years, median {sorted(ages)[len(ages) // 2]:.0f}" if ages else "n/a"
    )
    body = f"""
# Region-level face dataset ({manifest.get("recipe_name", "default")})

Built with facefocal-data {manifest.get("toolkit_version", __version__)} (card by {__version__}); recipe hash
`{str(manifest.get("recipe_hash"))[:12]}`. One row per face crop, with landmarks, named regions and boxes,
per-region action units, face-level emotion and age, and a description per region.

```python
import datasets
ds = datasets.load_dataset("parquet", data_files="shards/*.parquet", split="train")
test = ds.filter(lambda row: row["split"] == "test")
```

## Statistics

- faces: **{stats["faces"]}**, regions: **{stats["regions"]}**, sources: {sources}
- emotions: {", ".join(f"{k} {v}" for k, v in stats["emotions"].items()) or "n/a"}
- age: {age_line}
- descriptions: {writers}; template fallback rate **{fallback}**

| split | faces |
|---|---|
{table}

| AU | present / observable |
|---|---|
{au}

{chr(10).join(f"![{p}]({p})" for p in plots)}

## Models and licences

Labels are model estimates unless their `source` starts with `gt:`. Each carries the model id and
weights hash; the weights' licences:

| model | licence | from | sha256 |
|---|---|---|---|
{models}

## Limitations

Action units come from blendshapes and landmark geometry, not a FACS-certified coder; emotion
and age are single-model estimates with the biases of their training data. Descriptions were
fact-checked against these labels, not against the face itself.
"""
    return "\n".join(yaml_lines) + "\n" + body


def write_card(data_dir: str | Path, out: str | Path | None = None) -> Path:
    data_dir = Path(data_dir)
    target = Path(out) if out is not None else data_dir
    target.mkdir(parents=True, exist_ok=True)
    stats = dataset_stats(iter_records(data_dir))
    plots = write_plots(stats, target)
    path = target / "README.md"
    path.write_text(card_text(data_dir, stats, plots))
    (target / "stats.json").write_text(json.dumps({k: v for k, v in stats.items() if k != "ages"}, indent=1))
    return path
