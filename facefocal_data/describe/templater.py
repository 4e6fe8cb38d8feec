"""Describer `llm`, mode `template` (the default with an LLM): the LLM writes templates, code fills them.

Per text: its fact signature (describe/slots.py) → the signature's accepted templates (memory,
then the on-disk template cache, else they are made: code writes the signature's plain template,
one or two slots a sentence; each sentence's rewordings come from the sentence cache or the LLM,
asked once per distinct sentence (describe/template_sentences.py); rewordings that keep their
sentence's slots are put together into candidate templates, each filled with this text's values
and checked: slots, the fact check, link-grammar; up to `rounds` rounds) → a seeded choice among
them, filled with this text's values, fact-checked again and parsed by link-grammar (the next
template when it does not parse; every text of a batch in one parser run, results cached by
sentence shape: describe/grammar_gate.py) → else the phrase-bank text, with the reason. Numbers
and names are never written by the model. The LLM's cost grows with the distinct sentences of
the code's templates, not with the signatures or the faces; a build stops asking
once it has spent `templates.budget_seconds` (what it could not ask, the next build asks).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import DescribeConfig
from ..llm.cache import LayeredCache, cache_key
from ..paths import llm_cache_dir
from ..record import Description, FaceRecord, Region
from .bank import load_bank
from .compose import (
    SIDED_FAMILIES,
    PhraseDescriber,
    au_phrases,
    compose_face,
    compose_region,
    region_noun,
)
from .factcheck import check_text
from .facts import Facts, face_facts, region_facts, strongest_aus
from .grammar_gate import GrammarGate
from .llm import LLMDescriber, LLMStats, reason_kind
from .slots import Signature, region_family, signature_of, slot_values
from .template import describe_face, describe_region, seeded_rng
from .template_check import fill, template_problems
from .template_prompt import TEMPLATER_PROMPT_VERSION, base_sentences, base_template
from .template_sentences import BUDGET_SPENT, Reworder, SentenceStore

SAME_AS_CODE = "the code's own template: adds no variety"
NO_PARSE = "no accepted template parses with link-grammar"
NO_CHECK = "no template passed the checks"
RUNTIME_SETTINGS = ("budget_seconds",)  # how long to ask, not what is asked: not in any cache key


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
    sentences_needed: int = 0  # sentences (per round) of the signatures made: asked or cached
    sentences_asked: int = 0  # distinct code sentences the model was asked to reword
    sentences_reworded: int = 0  # ... and gave at least one slot-keeping rewording of
    sentence_disk_hits: int = 0  # sentences whose rewordings an earlier build had cached
    sentences_unasked: int = 0  # not asked: the build's budget was spent
    budget_fallbacks: int = 0  # texts written by the phrase bank because of that
    budget_seconds_used: float = 0.0  # wall-clock seconds the build spent asking the LLM
    grammar_gate: str = ""  # link-grammar's version, or why filled texts are not parsed
    grammar_sentences: int = 0  # sentences of filled texts looked up (templates made and texts written)
    grammar_parsed: int = 0  # ... of sentence shapes not seen before: parsed by link-parser
    grammar_disk_hits: int = 0  # ... found in an earlier build's grammar cache
    grammar_runs: int = 0  # link-parser runs
    grammar_seconds: float = 0.0  # spent parsing (cache hits cost next to nothing)
    grammar_retries: int = 0  # texts written from a later template: an earlier one did not parse
    grammar_fallbacks: int = 0  # texts written by the phrase bank: no accepted template parsed
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
        hits = self.grammar_sentences - self.grammar_parsed
        data["grammar_hit_rate"] = round(hits / self.grammar_sentences, 4) if self.grammar_sentences else None
        data["grammar_seconds"] = round(self.grammar_seconds, 3)
        return data


@dataclass
class TemplateSet:
    """A signature's accepted templates, and why the others were rejected."""

    accepted: list[str]
    rejected: list[list[Any]]
    seconds: float
    error: str = ""  # the LLM could not be asked (budget spent, server gone): not stored, asked next build


@dataclass
class _Text:
    record: FaceRecord
    region: Region | None
    facts: Facts
    signature: Signature


class TemplateStore:
    """Templates by signature, in memory and on disk (one file per signature + model + prompt)."""

    def __init__(self, root: Path | None, model_id: str, params: dict[str, Any]) -> None:
        self.cache = LayeredCache(root, lambda f: TemplateSet(f["accepted"], f["rejected"], f["seconds"]))
        self.model_id, self.params = model_id, params

    def key(self, signature: Signature) -> str:
        payload = {"v": TEMPLATER_PROMPT_VERSION, "model": self.model_id, "params": self.params}
        return cache_key(payload | {"signature": signature.key()})

    def get(self, signature: Signature) -> tuple[TemplateSet | None, bool]:
        """(the templates, whether they came from disk)."""
        return self.cache.get(self.key(signature))

    def put(self, signature: Signature, templates: TemplateSet) -> None:
        entry = None
        if not templates.error:
            entry = {"signature": signature.key(), "model": self.model_id, "params": self.params}
            entry |= {k: getattr(templates, k) for k in ("accepted", "rejected", "seconds")}
        self.cache.put(self.key(signature), templates, entry)


def _facts_of(record: FaceRecord, region: Region | None) -> Facts:
    return face_facts(record) if region is None else region_facts(record, region)


def _text_of(record: FaceRecord, region: Region | None, naming: str = "both") -> _Text:
    """One text to write; `naming` (describe.au_naming) decides whether AU slots hold clauses."""
    facts = _facts_of(record, region)
    family = region_family(region)
    one_side = family in SIDED_FAMILIES
    return _Text(record, region, facts, signature_of(facts, record, family, one_side, naming != "code_name"))


def _labels(text: _Text) -> dict[str, Any]:
    labels = strongest_aus(text.record) if text.region is None else text.region.aus
    return {a.au: a for a in labels if a.present}


def prechecked(
    candidates: list[str], text: _Text, values: dict[str, str]
) -> tuple[dict[str, str], list[list[Any]]]:
    """({template: filled text} for the templates that pass every check but grammar when filled
    with this text's values, [template, reasons] for the others)."""
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
    return passed, rejected


class TemplateMaker:
    """Makes the templates of new signatures: per round, the rewordings of every sentence they
    need (each distinct sentence once, cached), then each signature's candidates, checked."""

    def __init__(self, describer: TemplaterDescriber, reworder: Reworder) -> None:
        self.describer, self.reworder = describer, reworder
        self.cfg, self.stats, self.lock = describer.cfg, describer.stats, describer.lock

    def make(self, texts: list[_Text]) -> None:
        """Templates for each text's signature (one text per new signature), stored."""
        started = time.perf_counter()
        states = {id(t): TemplateSet([], [], 0.0) for t in texts}
        pending = list(texts)
        for attempt in range(self.cfg.templates.rounds):
            self.reworder.ask_all((s for t in pending for s in base_sentences(t.signature)), attempt)
            self._round([(t, states[id(t)]) for t in pending], attempt)
            pending = [t for t in pending if not states[id(t)].accepted and not states[id(t)].error]
            if not pending:
                break
        store = self.describer.store
        assert store is not None
        for text in texts:
            store.put(text.signature, states[id(text)])
        with self.lock:
            self.stats.signatures_made += sum(not s.error for s in states.values())
            self.stats.make_seconds += time.perf_counter() - started
            self.stats.budget_seconds_used = round(self.reworder.budget.used, 3)

    def candidates(self, signature: Signature, attempt: int) -> tuple[list[str], list[list[Any]], str]:
        """(templates made of the cached rewordings, sentence by sentence: the i-th rewording of each
        sentence together, the code's sentence where the model kept no slot right; the rewordings
        that broke their slots; why the signature cannot be made now, or "")."""
        options: list[list[str]] = []
        broken: list[list[Any]] = []
        for sentence in base_sentences(signature):
            found = self.reworder.lookup(sentence, attempt)
            if found is None or found.error:
                return [], broken, found.error if found else "sentence not asked"
            options.append(found.kept or [sentence])
            broken += found.rejected
        out: list[str] = []
        for i in range(max(len(o) for o in options)):
            candidate = " ".join(o[i % len(o)] for o in options)
            if candidate not in out:
                out.append(candidate)
        return out, broken, ""

    def _round(self, pending: list[tuple[_Text, TemplateSet]], attempt: int) -> None:
        """Check this round's candidates of every pending signature; link-grammar reads all their
        filled texts in one run (one run per signature cost 0.4 s each)."""
        started = time.perf_counter()
        staged: list[tuple[TemplateSet, dict[str, str], list[list[Any]]]] = []
        for text, state in pending:
            candidates, broken, state.error = self.candidates(text.signature, attempt)
            if state.error:
                continue
            same = [c for c in candidates if c == base_template(text.signature)]
            passed, rejected = prechecked(
                [c for c in candidates if c not in same], text, self.describer.values(text)
            )
            state.rejected += broken
            staged.append((state, passed, [[c, [SAME_AS_CODE]] for c in same] + rejected))
            with self.lock:
                self.stats.sentences_needed += len(base_sentences(text.signature))
                self.stats.same_as_code += len(same)
        texts = [f for _, passed, _ in staged for f in passed.values()]
        bad = self.describer.gate.failures(texts)
        share = (time.perf_counter() - started) / max(1, len(staged))
        for state, passed, rejected in staged:
            state.accepted = [t for t, f in passed.items() if f not in bad]
            rejected += [[t, ["link-grammar finds no complete parse"]] for t, f in passed.items() if f in bad]
            state.rejected += rejected
            state.seconds = round(state.seconds + share, 3)
            with self.lock:
                failed_grammar = len(passed) - len(state.accepted)
                self.stats.count_checked(
                    len(passed) + len(rejected) - failed_grammar,
                    len(state.accepted),
                    failed_grammar,
                    rejected,
                )


class TemplaterDescriber:
    """Backend `llm`, mode `template`. `describe_batch(records)`; `close()` stops the server."""

    def __init__(self, config: DescribeConfig, client: Any = None) -> None:
        self.cfg, self.seed, self.naming = config.llm, config.seed, config.au_naming
        self.stats = TemplaterStats()
        self.llm = LLMDescriber(config, client, self.stats)
        self.bank = load_bank()
        self.phrases = PhraseDescriber(config.seed, config.au_naming)
        self.store: TemplateStore | None = None
        self.maker: TemplateMaker | None = None
        self.lock = threading.Lock()
        adverbs = (a for words in self.bank.adverbs.values() for a in words)
        self.gate = GrammarGate(self.cfg.templates.grammar, None, self.stats, self.lock, adverbs)
        self.on_text: Any = None

    def open(self) -> None:
        self.llm.open()
        if self.store is None:
            root = llm_cache_dir() if self.cfg.cache else None
            settings = self.cfg.templates.model_dump(exclude=set(RUNTIME_SETTINGS))
            params = settings | {"au_naming": self.naming}
            self.store = TemplateStore(root / "templates" if root else None, self.llm.model_id, params)
            self.gate.root = root / "grammar" if root else None
            sentences = SentenceStore(root / "sentences" if root else None, self.llm.model_id)
            reworder = Reworder(self.cfg, self.llm.client, self.stats, self.lock, sentences)
            self.maker = TemplateMaker(self, reworder)

    def abort(self) -> None:
        self.llm.abort()

    def close(self) -> None:
        self.gate.save()
        self.llm.close()

    def __call__(self, record: FaceRecord) -> None:
        self.describe_batch([record])

    def describe_batch(self, records: list[FaceRecord]) -> None:
        """Templates for the batch's new signatures (their sentences asked concurrently), then every text."""
        self.open()
        assert self.store is not None and self.maker is not None
        texts = [_text_of(r, g, self.naming) for r in records for g in [*r.regions, None]]
        new: dict[str, _Text] = {}
        for text in texts:
            found, from_disk = self.store.get(text.signature)
            self.stats.disk_hits += from_disk
            if found is None:
                new.setdefault(self.store.key(text.signature), text)
        self.maker.make(list(new.values()))
        fresh = {id(text) for text in new.values()}
        chosen = self.gate.first_parsing([self._filled(text) for text in texts])
        for text, (filled, failed) in zip(texts, chosen, strict=True):
            described = self._written(text, filled, failed, fresh=id(text) in fresh)
            if text.region is None:
                text.record.face_description = described
            else:
                text.region.description = described
            if self.on_text is not None:
                self.on_text(self.stats)

    def values(self, text: _Text) -> dict[str, str]:
        """The text's slot values (seeded per record and region): region noun, AUs per au_naming."""
        region_id = "face" if text.region is None else text.region.region_id
        rng = seeded_rng(self.seed, text.record.record_id, region_id, "templater")
        name = region_noun(text.record, text.region, text.facts, rng, self.bank)
        items, cues = au_phrases(
            text.record, text.region, text.facts, _labels(text), rng, self.naming, self.bank
        )
        return slot_values(text.facts, items, cues, self.bank, rng, name)

    def _filled(self, text: _Text) -> Iterator[str]:
        """The text's accepted templates in a seeded order, filled with its values, those that pass
        the fact check; link-grammar then picks the first that parses (GrammarGate.first_parsing)."""
        assert self.store is not None
        templates, _ = self.store.get(text.signature)
        with self.lock:
            self.stats.lookups += 1
        accepted = list(templates.accepted) if templates else []
        if not accepted:
            return
        values = self.values(text)
        rng = seeded_rng(self.seed, text.record.record_id, text.facts.region_id, "pick")
        rng.shuffle(accepted)
        for template in accepted:
            filled = fill(template, values)
            if not check_text(filled, text.facts, "long"):
                yield filled

    def _written(self, text: _Text, filled: str | None, failed: int, fresh: bool) -> Description:
        """The chosen filled template, or the phrase-bank text with the reason when none passed
        the fact check and link-grammar."""
        with self.lock:
            self.stats.lookup_hits += not fresh
            self.stats.grammar_retries += bool(filled and failed)
            self.stats.grammar_fallbacks += bool(not filled and failed)
        if filled is None:
            templates, _ = self.store.get(text.signature) if self.store else (None, False)
            why = templates.error if templates and templates.error else NO_PARSE if failed else NO_CHECK
            return self._fallback(text, why)
        origin = "fresh_template" if fresh else "cached_template"
        with self.lock:
            self.stats.texts += 1
            self.stats.texts_fresh += fresh
            self.stats.texts_cached += not fresh
        model = self.llm.model_id
        return Description(filled, "templater", model, TEMPLATER_PROMPT_VERSION, [], False, None, origin)

    def _fallback(self, text: _Text, why: str) -> Description:
        if text.region is None:
            composed = compose_face(text.record, self.seed, self.naming, self.bank)
            written = self.phrases._gated(composed, lambda: describe_face(text.record, self.seed))
        else:
            composed = compose_region(text.record, text.region, self.seed, self.naming, self.bank)
            region = text.region
            written = self.phrases._gated(composed, lambda: describe_region(text.record, region, self.seed))
        with self.lock:
            self.stats.count_text(None, [why])
            self.stats.budget_fallbacks += why == BUDGET_SPENT
        written.checks, written.fallback_used, written.origin = (
            [f"templater: {why}", *written.checks],
            True,
            "fallback",
        )
        return written
