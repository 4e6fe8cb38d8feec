"""A tiny Qwen2.5-VL made on the spot: random weights, a local tokenizer with Qwen's special tokens.

No weights can be downloaded here, yet a trainer's real code path (its template, Qwen's processor,
the model's image-token merge, the loss) must run end to end. So the model is built from a
`Qwen2_5_VLConfig` with tiny sizes, and the tokenizer is a byte-level BPE learned from the export's
own texts, padded so every Qwen special token sits at its real id: ms-swift hard-codes
`image_token_id = 151655`, and the model config names the vision ids. Runs in the trainer venv
(torch, transformers, tokenizers) and imports only the toolkit's light coordinate module.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..exporters.coords import PROCESSOR_MAX_PIXELS, PROCESSOR_MIN_PIXELS

FIRST_SPECIAL = 151643  # Qwen2's first special id: the vocabulary below it is ordinary text
SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
VOCAB_SIZE = 151936  # Qwen2.5-VL-3B's embedding rows
BPE_SIZE = 2048  # learned tokens: enough for the export's English, small enough to learn in a second
# Qwen2-VL's chat template (the one Qwen's processor ships), written out: nothing is downloaded
CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}"
    "{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def export_texts(folder: Path) -> list[str]:
    """Every message text of every data file in an export folder (the tokenizer's corpus)."""
    texts: list[str] = []
    for path in sorted(folder.glob("*.json*")):
        if path.name in ("dataset_info.json", "custom_dataset_info.json", "export.json", "prompts.json"):
            continue
        lines = json.loads(path.read_text()) if path.suffix == ".json" else _jsonl(path)
        for row in lines:
            turns = row.get("messages") or row.get("conversations") or []
            texts += [turn.get("content") or turn.get("value") or "" for turn in turns]
    return texts


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def make_tokenizer(texts: Iterable[str]) -> Any:
    """A byte-level BPE learned from `texts`, its vocabulary padded with unreachable fillers up to
    151643 so that Qwen's special tokens, added next, get exactly their real ids."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=BPE_SIZE, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    bpe.train_from_iterator(list(texts), trainer)
    model = json.loads(bpe.to_str())["model"]
    vocab: dict[str, int] = model["vocab"]
    vocab.update({f"<|filler_{i}|>": i for i in range(len(vocab), FIRST_SPECIAL)})
    pairs = (m.split(" ") if isinstance(m, str) else m for m in model["merges"])
    merges: list[tuple[str, str]] = [(a, b) for a, b in pairs]
    tokenizer = Tokenizer(models.BPE(vocab, merges))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS])
    ids = [tokenizer.token_to_id(token) for token in SPECIAL_TOKENS]
    if ids != list(range(FIRST_SPECIAL, FIRST_SPECIAL + len(SPECIAL_TOKENS))):
        raise ValueError(f"Qwen's special tokens landed at {ids}, not at their real ids")
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        model_max_length=32768,
        chat_template=CHAT_TEMPLATE,
        clean_up_tokenization_spaces=False,
    )


def tiny_config() -> Any:
    """Qwen2.5-VL's architecture at toy size: 2 text layers of width 64, a 2-block vision tower
    (one windowed, one full attention, as the real tower alternates), the real token ids."""
    from transformers import Qwen2_5_VLConfig

    return Qwen2_5_VLConfig(
        text_config={
            "vocab_size": VOCAB_SIZE,
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "max_position_embeddings": 4096,
            "rope_parameters": {"rope_type": "default", "rope_theta": 1e6, "mrope_section": [2, 3, 3]},
            "bos_token_id": FIRST_SPECIAL,
            "eos_token_id": FIRST_SPECIAL + 2,
            "pad_token_id": FIRST_SPECIAL,
        },
        vision_config={
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_heads": 2,
            "out_hidden_size": 64,
            "fullatt_block_indexes": [1],
        },
        tie_word_embeddings=True,
    )


def make_tiny_qwen(
    out: Path, texts: Iterable[str], max_pixels: int = PROCESSOR_MAX_PIXELS, seed: int = 0
) -> Path:
    """Write a loadable checkpoint folder: config, random weights, tokenizer, and Qwen's processor
    with the real model's pixel budget unless told otherwise (the boxes LLaMA-Factory's export
    writes assume the processor's own budget after its pre-resize)."""
    import torch
    from transformers import (
        GenerationConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
        Qwen2VLImageProcessor,
        Qwen2VLVideoProcessor,
    )

    torch.manual_seed(seed)
    tokenizer = make_tokenizer(texts)
    model = Qwen2_5_VLForConditionalGeneration(tiny_config())
    model.generation_config = GenerationConfig(
        eos_token_id=[FIRST_SPECIAL + 2, FIRST_SPECIAL], pad_token_id=FIRST_SPECIAL, do_sample=False
    )
    images = Qwen2VLImageProcessor(min_pixels=PROCESSOR_MIN_PIXELS, max_pixels=max_pixels)
    processor = Qwen2_5_VLProcessor(
        image_processor=images,
        tokenizer=tokenizer,
        video_processor=Qwen2VLVideoProcessor(),
        chat_template=CHAT_TEMPLATE,
    )
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Write a tiny random Qwen2.5-VL for an export folder.")
    parser.add_argument("export", type=Path, help="export folder: its texts train the tokenizer")
    parser.add_argument("out", type=Path)
    parser.add_argument("--max-pixels", type=int, default=PROCESSOR_MAX_PIXELS)
    args = parser.parse_args(argv)
    make_tiny_qwen(args.out, export_texts(args.export), args.max_pixels)


if __name__ == "__main__":
    main()
