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

import pyarrow as pa
import yaml

from ._version import __version__
from .dataset import Build, as_build
from .layout import Manifest
from .models.manifest import model_spec
from .record import ARROW_SCHEMA, FaceRecord


def dataset_stats(records: Iterable[FaceRecord]) -> dict[str, Any]:
    """Statistics over records (e.g. `Build(path).records()`), in one pass."""
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


_DTYPES = {"float": "float32", "double": "float64", "halffloat": "float16"}  # pyarrow name -> datasets name


def _feature(kind: pa.DataType) -> dict[str, Any]:
    """One column type as the Hub's YAML `features` spell it (what `datasets.Features` writes):
    `dtype` for a value, `struct` for fields, `list` (+ `length` when fixed) for a list."""
    if pa.types.is_struct(kind):
        return {"struct": [{"name": f.name, **_feature(f.type)} for f in kind]}
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        inner = _feature(kind.value_type)
        listed: dict[str, Any] = {"list": inner.get("dtype", inner.get("struct", inner))}
        return {**listed, "length": kind.list_size} if pa.types.is_fixed_size_list(kind) else listed
    return {"dtype": _DTYPES.get(str(kind), str(kind))}


def _features() -> list[dict[str, Any]]:
    """The shards' columns as Hub YAML features; `image` is the Image feature."""
    return [
        {"name": f.name, **({"dtype": "image"} if f.name == "image" else _feature(f.type))}
        for f in ARROW_SCHEMA
    ]


def _licences(manifest: Manifest) -> list[dict[str, str]]:
    rows = []
    for model in manifest.models:
        try:
            spec = model_spec(model.name)
            rows.append(
                {"name": spec.name, "licence": spec.licence, "source": spec.source, "sha256": spec.sha256}
            )
        except KeyError:
            rows.append({"name": model.name, "licence": "unknown", "source": "", "sha256": model.sha256})
    return rows


def _hub_configs(splits: dict[str, int], rejected: list[str]) -> list[str]:
    """Hub YAML `configs`: shards hold every split mixed, so each split is a config that filters
    on the `split` column (train is the default: `load_dataset(BUILD, split="train")` gives
    train rows only, never validation or test), plus `all` (its one split is `full`: `all` is a
    reserved split name). Faces a reviewer rejected are filtered out, as exports and statistics
    leave them out."""
    named = [s for s in ("train", "validation", "test") if s in splits] + sorted(
        s for s in splits if s not in ("train", "validation", "test", "none")
    )
    dropped = [f"  - [record_id, not in, {json.dumps(sorted(rejected))}]"] if rejected else []
    lines = ["configs:"]
    for number, split in enumerate([*named, "all"]):
        lines += [f"- config_name: {split}", *(["  default: true"] if number == 0 else [])]
        lines += [
            "  data_files:",
            f"  - split: {'full' if split == 'all' else split}",
            "    path: shards/*.parquet",
        ]
        conditions = ([f"  - [split, ==, {split}]"] if split != "all" else []) + dropped
        lines += ["  filters:", *conditions] if conditions else []
    return lines


def card_text(manifest: Manifest, stats: dict[str, Any], plots: list[str]) -> str:
    body = "\n".join([_intro(manifest), _statistics(stats, plots), _models(manifest), LIMITATIONS])
    return "\n".join(_yaml_header(manifest, stats)) + "\n" + body


def _yaml_header(manifest: Manifest, stats: dict[str, Any]) -> list[str]:
    """The Hub's metadata block: licence, tasks, a config per split and the features."""
    return [
        "---",
        "license: other  # see 'Models and licences': each label inherits its model's terms",
        "task_categories:",
        "- image-to-text",
        "- visual-question-answering",
        "tags:",
        "- face",
        "- facial-action-units",
        "- region-captioning",
        *_hub_configs(stats["splits"], manifest.rejected),
        "dataset_info:",
        "  features:",
        *("  " + line for line in yaml.safe_dump(_features(), sort_keys=False).splitlines()),
        "---",
    ]


def _intro(manifest: Manifest) -> str:
    return f"""
# Region-level face dataset ({manifest.recipe_name})

Built with facefocal-data {manifest.toolkit_version} (card by {__version__}); recipe hash
`{manifest.recipe_hash[:12]}`. One row per face crop, with landmarks, named regions and boxes,
per-region action units, face-level emotion and age, and a description per region.

```python
import datasets
train = datasets.load_dataset("path/to/this/folder", split="train")  # train rows only
test = datasets.load_dataset("path/to/this/folder", "test", split="test")  # a config per split
everything = datasets.load_dataset("path/to/this/folder", "all", split="full")
```
"""


def _statistics(stats: dict[str, Any], plots: list[str]) -> str:
    table = "\n".join(f"| {k} | {v} |" for k, v in sorted(stats["splits"].items()))
    au = "\n".join(f"| {k} | {v:.2f} |" for k, v in stats["au_frequency"].items())
    writers = ", ".join(f"{k}: {v}" for k, v in stats["describers"].items()) or "none"
    fallback = "n/a" if stats["fallback_rate"] is None else f"{100 * stats['fallback_rate']:.1f} %"
    ages = stats["ages"]
    sources = ", ".join(f"{k} ({v})" for k, v in stats["sources"].items())
    age_line = (
        f"{min(ages):.0f}-{max(ages):.0f} years, median {sorted(ages)[len(ages) // 2]:.0f}" if ages else "n/a"
    )
    return f"""## Statistics

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
"""


def _models(manifest: Manifest) -> str:
    models = "\n".join(
        f"| {m['name']} | {m['licence']} | `{m['source']}` | `{m['sha256'][:12]}` |"
        for m in _licences(manifest)
    )
    return f"""## Models and licences

Labels are model estimates unless their `source` starts with `gt:`. Each carries the model id and
weights hash; the weights' licences:

| model | licence | from | sha256 |
|---|---|---|---|
{models}
"""


LIMITATIONS = """## Limitations

Action units come from blendshapes and landmark geometry, not a FACS-certified coder; emotion
and age are single-model estimates with the biases of their training data. Descriptions were
fact-checked against these labels, not against the face itself.
"""


def write_card(data_dir: Build | str | Path, out: str | Path | None = None) -> Path:
    build = as_build(data_dir)
    target = Path(out) if out is not None else build.path
    target.mkdir(parents=True, exist_ok=True)
    stats = dataset_stats(build.records(pixels=False))
    plots = write_plots(stats, target)
    path = target / "README.md"
    path.write_text(card_text(build.manifest, stats, plots))
    (target / "stats.json").write_text(json.dumps({k: v for k, v in stats.items() if k != "ages"}, indent=1))
    return path
