"""An export read by the trainers' OWN dataset code, every box checked where the model sees it.

Runs in a trainer's venv (LLaMA-Factory's or ms-swift's), started by `tests/test_trainers.py`.
Our exporters compute boxes for an image size the trainer decides later (LLaMA-Factory's
pre-resize, then Qwen's processor; ms-swift's `fetch_image` and its `<bbox>` filling), so the
only proof is the trainer's encoded sample: its image grid gives the size the model sees, and
every box in the decoded tokens, in questions and answers, must be the row's crop-pixel box
(`keys.SampleKey.boxes`, in text order) in the model's convention for that size. The conversion
in `box_checks` is plain arithmetic, independent of the exporter's code. Prints one JSON report per dataset.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from .box_checks import REPORT, read_keys


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("trainer", choices=["llamafactory", "swift"])
    parser.add_argument("export", type=Path)
    parser.add_argument("--model", required=True, help="a Qwen2.5-VL checkpoint folder")
    parser.add_argument("--dataset", nargs="+", required=True, help="NAME=KEYS.jsonl, one per split file")
    parser.add_argument("--template", default="qwen2_vl", help="LLaMA-Factory: qwen2_vl; swift: qwen2_5_vl…")
    parser.add_argument("--max-pixels", type=int, required=True, help="the export's --max-pixels")
    parser.add_argument("--convention", choices=["resized", "norm1000"], default="resized")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    datasets = dict(item.split("=", 1) for item in args.dataset)
    if args.trainer == "llamafactory":
        from .llamafactory_loader import check_llamafactory as check
    else:
        from .swift_loader import check_swift as check
    for name, keys in datasets.items():
        result = check(args.export.resolve(), args.model, name, read_keys(Path(keys)), args)
        print(REPORT + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
