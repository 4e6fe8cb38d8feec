"""Reading a build: `validate`, `show`, `records`, `stats`, `card`."""

from __future__ import annotations

import itertools
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from .common import ExitCode, JsonOption, emit_json, fail, out_console, say_done, setup_errors, use_json

if TYPE_CHECKING:
    from ..record import Description, FaceRecord

BuildArg = Annotated[Path, typer.Argument(help="A build directory.")]


def validate(out: BuildArg, json_out: JsonOption = False) -> None:
    """Re-check a build: manifest schema, file hashes, row counts, record ids, every row's schema."""
    from ..dataset import Build

    use_json(json_out)
    with setup_errors():
        report = Build(out).validate()
    if json_out:
        emit_json({**asdict(report), "ok": report.ok})
    else:
        for problem in report.problems:
            out_console.print(f"[red]✗[/] {problem}", highlight=False)
        status = "[green]valid[/]" if report.ok else f"[red]{len(report.problems)} problem(s)[/]"
        counts = f"{report.shards} shard(s), {report.rows} row(s), {report.error_rows} error row(s)"
        out_console.print(f"{out}: {counts}: {status}")
    if not report.ok:
        fail(f"{out} is not a valid build: {len(report.problems)} problem(s)", ExitCode.FAILED)


def show(
    out: BuildArg,
    record_ids: Annotated[
        list[str], typer.Argument(help="Record ids (unique prefixes); several make a contact sheet.")
    ],
    png: Annotated[Path, typer.Option("--out", "-o", help="PNG file to write.")],
    region: Annotated[
        list[str] | None, typer.Option("--region", help="Only these regions (repeatable).")
    ] = None,
    highlight: Annotated[str | None, typer.Option(help="Dim all but this region and draw it thick.")] = None,
    scale: Annotated[float, typer.Option(help="Upscale factor for legibility.", min=0.5, max=4)] = 2.0,
    no_landmarks: Annotated[bool, typer.Option("--no-landmarks", help="Hide the 478 points.")] = False,
    columns: Annotated[int, typer.Option(help="Contact sheet columns.", min=1)] = 4,
    json_out: JsonOption = False,
) -> None:
    """Draw a record's crop with its landmarks and labelled region boxes (or several as a sheet)."""
    from ..dataset import Build
    from ..render import contact_sheet, render_record, save_png

    use_json(json_out)
    with setup_errors():
        build = Build(out)
        found = [build.find(rid) for rid in record_ids]
        if len(found) > 1:
            picture = contact_sheet(found, columns, highlight=highlight, landmarks=not no_landmarks)
        else:
            picture = render_record(
                found[0], scale=scale, regions=region, landmarks=not no_landmarks, highlight=highlight
            )
        save_png(picture, png)
    if json_out:
        emit_json({"wrote": str(png), "records": [r.record_id for r in found]})
    elif len(found) > 1:
        out_console.print(f"wrote {png} ({len(found)} records)", highlight=False)
    else:
        _print_shown(found[0], png, [highlight] if highlight else region)


def _print_shown(record: FaceRecord, png: Path, regions: list[str] | None) -> None:
    """What `show` drew: the record's source and face, and the texts of the regions asked for."""
    face = f"face {record.face_index + 1}/{record.faces_in_image}"
    out_console.print(f"wrote {png} ({record.source_path}, {face}, {len(record.regions)} regions)")
    if record.face_description is not None:
        out_console.print(f"[bold]face[/] {_provenance(record.face_description)}", highlight=False)
        out_console.print(f"  {record.face_description.text}", highlight=False)
    for reg in record.regions:
        if regions and reg.region_id in regions and reg.description is not None:
            present = ", ".join(f"{a.au} {a.value:.2f}" for a in reg.aus if a.present) or "none"
            out_console.print(
                f"[bold]{reg.region_id}[/] {reg.bbox_xyxy} AUs present: {present}"
                f" · {_provenance(reg.description)}",
                highlight=False,
            )
            out_console.print(f"  {reg.description.text}", highlight=False)


def _provenance(description: Description) -> str:
    """Who wrote a text: the LLM (and model), or the template and, after a fallback, why."""
    if description.describer == "llm":
        return f"[green]llm[/] {description.model}"
    if description.describer == "templater":
        return f"[green]templater[/] {description.model} ({description.origin})"
    if description.fallback_used and description.origin == "fallback":
        return f"[yellow]phrases (templater fallback: {description.checks[0]})[/]"
    if description.fallback_used:
        return f"[yellow]template (fallback: {'; '.join(description.checks[-2:])})[/]"
    return str(description.describer)


def records(
    out: BuildArg,
    ids_only: Annotated[bool, typer.Option("--ids-only", help="Print record ids only, one a line.")] = False,
    limit: Annotated[int | None, typer.Option(help="Show at most N records.", min=1)] = None,
    json_out: JsonOption = False,
) -> None:
    """List the records of a build (id, source image, face index, detection score)."""
    from ..dataset import Build

    use_json(json_out)
    columns = ["record_id", "source_path", "face_index", "faces_in_image", "detection_score"]
    with setup_errors():
        rows = list(itertools.islice(Build(out).rows(columns), limit))
    if json_out:
        emit_json({"records": rows})
        return
    if ids_only:
        for row in rows:
            print(row["record_id"])
        return
    table = Table()
    for col in ("record_id", "source", "face", "score"):
        table.add_column(col, no_wrap=True)
    for row in rows:
        face = f"{row['face_index'] + 1}/{row['faces_in_image']}"
        table.add_row(row["record_id"], row["source_path"], face, f"{row['detection_score']:.2f}")
    out_console.print(table)


def stats(data: BuildArg, json_out: JsonOption = False) -> None:
    """Dataset statistics: faces per split and source, emotions, ages, AU frequencies, who wrote the texts."""
    from ..card import dataset_stats
    from ..dataset import Build

    use_json(json_out)
    with setup_errors():
        numbers = dataset_stats(Build(data).records(pixels=False))
    ages = numbers.pop("ages")
    numbers["age"] = _age_summary(ages)
    if json_out:
        emit_json(numbers)
        return
    table = Table(title=f"facefocal stats: {data}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for key in ("faces", "regions", "splits", "sources", "emotions", "age", "describers", "fallback_rate"):
        value = numbers[key]
        shown = ", ".join(f"{k} {v}" for k, v in value.items()) if isinstance(value, dict) else str(value)
        table.add_row(key.replace("_", " "), shown)
    frequent = sorted(numbers["au_frequency"].items(), key=lambda kv: -kv[1])[:8]
    table.add_row("AU present / observable", ", ".join(f"{au} {v:.2f}" for au, v in frequent))
    out_console.print(table)


def _age_summary(ages: list[float]) -> dict[str, float]:
    if not ages:
        return {}
    ordered = sorted(ages)
    return {
        "min": round(ordered[0], 1),
        "median": round(ordered[len(ordered) // 2], 1),
        "max": round(ordered[-1], 1),
    }


def card(
    data: BuildArg,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Where to write (default: the build).")
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Write a dataset card (README.md with Hub YAML, statistics, model licences) and its plots."""
    from ..card import write_card

    use_json(json_out)
    with setup_errors():
        path = write_card(data, out)
    say_done({"wrote": str(path)}, f"wrote {path}")
