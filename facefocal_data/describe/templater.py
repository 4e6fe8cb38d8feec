"""Describer `llm`, mode `template` (the default with an LLM): the LLM writes templates, code fills them.

Per text: its fact signature (describe/slots.py) → the signature's accepted templates (memory,
then the on-disk template cache, else they are made: code writes the signature's plain template,
one or two slots a sentence; the LLM rewords each sentence `candidates` ways; rewordings that keep
their sentence's slots are put together into candidate templates, each filled with this text's
values and checked: slots, the fact check, link-grammar; up to `rounds` rounds) → a seeded choice
among them, filled with this text's values and fact-checked again → else the phrase-bank text,
with the reason. Numbers and names are never written by the model. The LLM is asked once per
signature and model, ever: its cost grows with the kinds of fact, not the faces.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import DescribeConfig, LLMConfig
from ..llm.cache import CompletionCache, cache_key
from ..paths import llm_cache_dir
from ..record import Description, FaceRecord, Region
from .bank import load_bank
from .compose import SIDED_FAMILIES, PhraseDescriber, compose_face, compose_region, region_noun
from .factcheck import check_text
from .facts import Facts, face_facts, region_facts, strongest_aus
from .llm import IncompleteCompletion, LLMDescriber, LLMStats, LLMUnavailable, reason_kind
from .slots import Signature, region_family, signature_of, slot_values
from .template import describe_face, describe_region, seeded_rng
from .template_check import SLOT, fill, grammar_failures, parse_candidates, template_problems
from .template_prompt import TEMPLATER_PROMPT_VERSION, base_sentences, base_template, sentence_messages

TOKENS_PER_SENTENCE = 60
SAME_AS_CODE = "the code's own template: adds no variety"


@dataclass
class TemplaterStats(LLMStats):
    """LLMStats (requests, tokens, texts, fallbacks) and the templater's own counts."""

    lookups: int = 0  # texts that looked up their signature's templates
    lookup_hits: int = 0  # ... and found them made already (this build or the disk cache)
    signatures_made: int = 0
    disk_hits: int = 0
    candidates: int = 0
    accepted: int = 0
    grammar_rejected: int = 0
    texts_cached: int = 0
    texts_fresh: int = 0
    make_seconds: float = 0.0
    same_as_code: int = 0  # candidates identical to the code's template (rejected)
    sentences_asked: int = 0  # sentences of code templates the model was asked to reword
    sentences_reworded: int = 0  # ... and gave at least one slot-keeping rewording of
    rejected_reasons: Counter[str] = field(default_factory=Counter)

    def count_checked(self, candidates: int, accepted: int, bad: int, rejected: list[list[Any]]) -> None:
        self.candidates += candidates
        self.accepted += accepted
        self.grammar_rejected += bad
        self.rejected_reasons.update(reason_kind(r) for _, reasons in rejected for r in reasons)

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data.pop("rejected_reasons", None)
        data["rejected_reasons"] = dict(self.rejected_reasons.most_common(10))
        data["acceptance_rate"] = round(self.accepted / self.candidates, 4) if self.candidates else None
        data["cache_hit_rate"] = round(self.lookup_hits / self.lookups, 4) if self.lookups else None
        data["cached_share"] = round(self.texts_cached / self.texts, 4) if self.texts else None
        return data


@dataclass
class TemplateSet:
    """A signature's accepted templates, and why the others were rejected."""

    accepted: list[str]
    rejected: list[list[Any]]
    seconds: float
    error: str = ""  # the LLM could not be asked: not stored, asked again next build


@dataclass
class _Text:
    record: FaceRecord
    region: Region | None
    facts: Facts
    signature: Signature


class TemplateStore:
    """Templates by signature, in memory and on disk (one file per signature + model + prompt)."""

    def __init__(self, root: Path | None, model_id: str, params: dict[str, Any]) -> None:
        self.disk = CompletionCache(root) if root is not None else None
        self.model_id, self.params = model_id, params
        self.memory: dict[str, TemplateSet] = {}

    def key(self, signature: Signature) -> str:
        payload = {"v": TEMPLATER_PROMPT_VERSION, "model": self.model_id, "params": self.params}
        return cache_key(payload | {"signature": signature.key()})

    def get(self, signature: Signature) -> tuple[TemplateSet | None, bool]:
        """(the templates, whether they came from disk)."""
        key = self.key(signature)
        if key in self.memory:
            return self.memory[key], False
        found = self.disk.get(key) if self.disk else None
        if found is None:
            return None, False
        self.memory[key] = TemplateSet(found["accepted"], found["rejected"], found["seconds"])
        return self.memory[key], True

    def put(self, signature: Signature, templates: TemplateSet) -> None:
        key = self.key(signature)
        self.memory[key] = templates
        if self.disk is not None and not templates.error:
            entry = {"signature": signature.key(), "model": self.model_id, "params": self.params}
            self.disk.put(
                key, entry | {k: getattr(templates, k) for k in ("accepted", "rejected", "seconds")}
            )


def _facts_of(record: FaceRecord, region: Region | None) -> Facts:
    return face_facts(record) if region is None else region_facts(record, region)


def _text_of(record: FaceRecord, region: Region | None) -> _Text:
    facts = _facts_of(record, region)
    family = region_family(region)
    return _Text(record, region, facts, signature_of(facts, record, family, family in SIDED_FAMILIES))


def _labels(text: _Text) -> dict[str, Any]:
    labels = strongest_aus(text.record) if text.region is None else text.region.aus
    return {a.au: a for a in labels if a.present}


def checked(
    candidates: list[str], text: _Text, values: dict[str, str], grammar: bool
) -> tuple[list[str], list[list[Any]], int]:
    """(templates that pass every check when filled with this text's values, [template, reasons],
    how many failed only on grammar)."""
    passed: dict[str, str] = {}
    rejected: list[list[Any]] = []
    for template in candidates:
        problems = template_problems(template, text.signature)
        filled = "" if problems else fill(template, values)
        problems = problems or check_text(filled, text.facts, "long")
        if problems:
            rejected.append([template, problems])
        else:
            passed[template] = filled
    bad = grammar_failures(list(passed.values())) if grammar else set()
    rejected += [[t, ["link-grammar finds no complete parse"]] for t, f in passed.items() if f in bad]
    return [t for t, f in passed.items() if f not in bad], rejected, len(bad)


class Reworder:
    """Asks the LLM to reword the code's template of a signature, sentence by sentence."""

    def __init__(self, cfg: LLMConfig, client: Any, stats: TemplaterStats, lock: threading.Lock) -> None:
        self.cfg, self.client, self.stats, self.lock = cfg, client, stats, lock

    def rewordings(self, sentence: str, attempt: int, rejected: list[list[Any]]) -> list[str]:
        """The model's rewordings of one sentence of the code's template that keep its slots."""
        settings = self.cfg.templates
        params = {
            "temperature": settings.temperature,
            "seed": self.cfg.seed + attempt,
            "max_tokens": TOKENS_PER_SENTENCE * settings.candidates,
        }
        try:
            answer = self.client.complete(sentence_messages(sentence, settings.candidates), params, True)
        except IncompleteCompletion as exc:
            rejected.append(["", [str(exc)]])
            return []
        want = sorted(s.lower() for s in SLOT.findall(sentence))
        kept = []
        for line in parse_candidates(answer):
            if sorted(s.lower() for s in SLOT.findall(line)) == want:
                kept.append(line)
            else:
                rejected.append([line, ["changes the slots of its sentence"]])
        with self.lock:
            self.stats.sentences_asked += 1
            self.stats.sentences_reworded += bool(kept)
        return kept

    def candidates(self, signature: Signature, attempt: int, rejected: list[list[Any]]) -> list[str]:
        """Templates made of the model's rewordings, sentence by sentence (the code's sentence
        where the model kept no slot right): the i-th rewording of each sentence, together."""
        options = [self.rewordings(s, attempt, rejected) or [s] for s in base_sentences(signature)]
        out: list[str] = []
        for i in range(max(len(o) for o in options)):
            candidate = " ".join(o[i % len(o)] for o in options)
            if candidate not in out:
                out.append(candidate)
        return out


class TemplaterDescriber:
    """Backend `llm`, mode `template`. `describe_batch(records)`; `close()` stops the server."""

    def __init__(self, config: DescribeConfig, client: Any = None) -> None:
        self.cfg, self.seed = config.llm, config.seed
        self.stats = TemplaterStats()
        self.llm = LLMDescriber(config, client, self.stats)
        self.bank = load_bank()
        self.phrases = PhraseDescriber(config.seed, "both")
        self.store: TemplateStore | None = None
        self.lock = threading.Lock()
        self.on_text: Any = None
        self.reworder = Reworder(self.cfg, self.llm.client, self.stats, self.lock)

    def open(self) -> None:
        self.llm.open()
        if self.store is None:
            root = llm_cache_dir() / "templates" if self.cfg.cache else None
            self.store = TemplateStore(root, self.llm.model_id, self.cfg.templates.model_dump())

    def abort(self) -> None:
        self.llm.abort()

    def close(self) -> None:
        self.llm.close()

    def __call__(self, record: FaceRecord) -> None:
        self.describe_batch([record])

    def describe_batch(self, records: list[FaceRecord]) -> None:
        """Templates for the batch's new signatures (asked concurrently), then every text."""
        self.open()
        assert self.store is not None and self.llm.client.pool is not None
        texts = [_text_of(r, g) for r in records for g in [*r.regions, None]]
        new: dict[str, _Text] = {}
        for text in texts:
            found, from_disk = self.store.get(text.signature)
            self.stats.disk_hits += from_disk
            if found is None:
                new.setdefault(self.store.key(text.signature), text)
        futures = [self.llm.client.pool.submit(self._make, text) for text in new.values()]
        for future in futures:
            future.result()
        fresh = {id(text) for text in new.values()}
        for text in texts:
            described = self._describe(text, fresh=id(text) in fresh)
            if text.region is None:
                text.record.face_description = described
            else:
                text.region.description = described
            if self.on_text is not None:
                self.on_text(self.stats)

    def _values(self, text: _Text) -> dict[str, str]:
        region_id = "face" if text.region is None else text.region.region_id
        rng = seeded_rng(self.seed, text.record.record_id, region_id, "templater")
        name = region_noun(text.record, text.region, text.facts, rng, self.bank)
        return slot_values(text.facts, _labels(text), self.bank, rng, name)

    def _make(self, text: _Text) -> None:
        """Ask for templates until one passes (at most `rounds` rounds); store what came back."""
        started, error = time.perf_counter(), ""
        accepted: list[str] = []
        rejected: list[list[Any]] = []
        values = self._values(text)
        for attempt in range(self.cfg.templates.rounds):
            asked: list[list[Any]] = []  # rewordings that broke their sentence's slots
            try:
                candidates = self.reworder.candidates(text.signature, attempt, asked)
            except LLMUnavailable as exc:
                error = f"llm unavailable: {exc}"
                break
            same = [c for c in candidates if c == base_template(text.signature)]
            candidates = [c for c in candidates if c not in same]
            accepted, more, bad = checked(candidates, text, values, self.cfg.templates.grammar)
            more = asked + [[c, [SAME_AS_CODE]] for c in same] + more
            rejected += more
            with self.lock:
                self.stats.same_as_code += len(same)
                self.stats.count_checked(len(candidates) + len(same), len(accepted), bad, more)
            if accepted:
                break
        seconds = time.perf_counter() - started
        assert self.store is not None
        self.store.put(text.signature, TemplateSet(accepted, rejected, round(seconds, 3), error))
        with self.lock:
            self.stats.signatures_made += not error
            self.stats.make_seconds += seconds

    def _describe(self, text: _Text, fresh: bool) -> Description:
        """A seeded choice among the accepted templates that pass the fact check with this text's
        values; the phrase-bank text when none does."""
        assert self.store is not None
        templates, _ = self.store.get(text.signature)
        with self.lock:
            self.stats.lookups += 1
            self.stats.lookup_hits += not fresh
        accepted = list(templates.accepted) if templates else []
        values = self._values(text)
        rng = seeded_rng(self.seed, text.record.record_id, text.facts.region_id, "pick")
        rng.shuffle(accepted)
        for template in accepted:
            filled = fill(template, values)
            if not check_text(filled, text.facts, "long"):
                origin = "fresh_template" if fresh else "cached_template"
                with self.lock:
                    self.stats.texts += 1
                    self.stats.texts_fresh += fresh
                    self.stats.texts_cached += not fresh
                return Description(
                    filled, "templater", self.llm.model_id, TEMPLATER_PROMPT_VERSION, [], False, None, origin
                )
        why = templates.error if templates and templates.error else "no template passed the checks"
        return self._fallback(text, why)

    def _fallback(self, text: _Text, why: str) -> Description:
        if text.region is None:
            composed = compose_face(text.record, self.seed, "both", self.bank)
            written = self.phrases._gated(composed, lambda: describe_face(text.record, self.seed))
        else:
            composed = compose_region(text.record, text.region, self.seed, "both", self.bank)
            region = text.region
            written = self.phrases._gated(composed, lambda: describe_region(text.record, region, self.seed))
        with self.lock:
            self.stats.count_text(None, [why])
        written.checks, written.fallback_used, written.origin = (
            [f"templater: {why}", *written.checks],
            True,
            "fallback",
        )
        return written
