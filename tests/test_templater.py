"""The LLM as templater: signatures, template checks, filling, the template cache, provenance.

Records are the astronaut through the real pipeline. The fast tests put templates in the
on-disk template cache themselves (as an earlier build would have) and point the describer at
a port where nothing listens, so a signature without templates shows the fallback path; the
slow test runs the real embedded llama.cpp server with SmolLM2.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from facefocal_data.config import DescribeConfig, Recipe
from facefocal_data.describe.factcheck import aus_stated, check_text, length_style, plain_mentions
from facefocal_data.describe.facts import face_facts, region_facts
from facefocal_data.describe.grammar_gate import MISSING, GrammarGate, shaped
from facefocal_data.describe.quality import BRACKETED, parser_available, sentences, unparsed
from facefocal_data.describe.slots import Signature
from facefocal_data.describe.template_check import fill, parse_candidates, template_problems
from facefocal_data.describe.template_prompt import (
    TEMPLATER_PROMPT_VERSION,
    base_sentences,
    base_template,
    sentence_messages,
)
from facefocal_data.describe.template_sentences import BUDGET_SPENT, Rewordings
from facefocal_data.describe.templater import (
    NO_PARSE,
    TemplaterDescriber,
    TemplaterStats,
    TemplateSet,
    _text_of,
)
from facefocal_data.engines import open_analyzer, open_builder
from facefocal_data.record import Description, FaceRecord, Region
from facefocal_data.sources import SourceItem
from facefocal_data.stages import WorkItem

from .conftest import ASTRONAUT, TEMPLATE_RECIPE

NOWHERE = "http://127.0.0.1:9/v1"  # the discard port: nothing answers
needs_parser = pytest.mark.skipif(not parser_available(), reason="link-parser (Debian link-grammar) missing")


def _style(described: Description, region: Region | None) -> str:
    """The gate's length style for a text: a phrase-bank fallback's region text is `terse`."""
    return length_style(described.describer, region is not None)


@pytest.fixture(scope="module")
def astronaut(astronaut_rgb: np.ndarray) -> FaceRecord:
    recipe = Recipe.model_validate(TEMPLATE_RECIPE)
    analyzer = open_analyzer(recipe)
    work = WorkItem(SourceItem("astronaut.png", ASTRONAUT, "examples"), rgb=astronaut_rgb)
    work.scan = analyzer.scan(astronaut_rgb)
    open_builder(recipe, analyzer.geometry_source)([work])
    analyzer.close()
    return work.records[0]


def _generic(signature: Signature) -> str:
    """A template a person would write for any signature (what an accepted LLM template looks like)."""
    aus = [s for s in signature.required() if s == "aus" or s.startswith("au_")]
    said = " and ".join("{" + s + "}" for s in aus)
    first = (
        (f"In {{region}}, {said}." if signature.clauses else f"In {{region}} there is {said}.")
        if aus
        else ("{Region} is at rest, with no measured action unit active.")
    )
    emotion = "The face is estimated to show {emotion}." if signature.emotion != "none" else ""
    if signature.emotion == "uncertain":
        emotion = "The face possibly shows {emotion}, though the estimate is uncertain."
    cues = " {Cues} would fit that." if signature.cues else ""
    age = "The person is about {age} years old" if "years" in signature.age else ""
    age += ", likely between {age_low} and {age_high}" if "range" in signature.age else ""
    age += ", in the {age_bin} age group" if "bin" in signature.age else ""
    return " ".join(p for p in (first, emotion + cues, age + "." if age else "") if p)


def _unparsable(text: str) -> list[str]:
    """The sentences of a text link-grammar cannot parse (bracketed AU names removed)."""
    return unparsed([BRACKETED.sub("", s) for s in sentences(text)])


def _descriptions(record: FaceRecord) -> list[Any]:
    return [record.face_description, *(g.description for g in record.regions)]


def _config(naming: str = "both", **templates: object) -> DescribeConfig:
    llm = {"base_url": NOWHERE, "model": "m", "retries": 0, "timeout": 2, "templates": templates}
    return DescribeConfig.model_validate({"describer": "llm", "seed": 0, "au_naming": naming, "llm": llm})


def test_a_signature_says_what_kinds_of_fact_a_text_states_not_which(astronaut: FaceRecord) -> None:
    other = copy.deepcopy(astronaut)
    other.record_id = "other"
    for region in other.regions:  # other values, same kinds of fact
        for label in region.aus:
            label.value = None if label.value is None else min(1.0, label.value * 0.9 + 0.05)
    assert other.age is not None and other.emotion is not None
    other.age.years = (other.age.years or 30) + 23
    other.age.interval = [other.age.years - 5, other.age.years + 9]
    other.age.bin = f"{int(other.age.years) // 10 * 10}-{int(other.age.years) // 10 * 10 + 9}"
    mouth = next(i for i, r in enumerate(astronaut.regions) if r.region_id == "mouth")
    a = _text_of(astronaut, astronaut.regions[mouth]).signature
    b = _text_of(other, other.regions[mouth]).signature
    assert a == b
    key = a.key()
    assert "AU" not in key and "happiness" not in key and str(astronaut.age.years) not in key
    assert set(a.required()) >= {"region", "emotion", "age"}
    other.age.years = 69.6  # stated as 70: its bin, 60-69, is not asked for ("about 70 ... 60-69")
    other.age.interval, other.age.bin = [62.0, 78.0], "60-69"
    assert _text_of(other, other.regions[mouth]).signature.age == ("years", "range")


def test_template_checks_reject_facts_written_into_the_template() -> None:
    sig = Signature("mouth", False, 1, 1, "uncertain", False, True, ("years",), False)
    good = "In {region} there is {au_1}; {cues} may suggest {emotion}, an uncertain guess. Age: about {age}."
    assert template_problems(good, sig) == []
    cases = {
        good.replace("{age}", "37"): "writes a number",
        good.replace("{au_1}", "AU12"): "misses slot {au_1}",
        good + " The person looks happy.": "writes the emotion word 'happy'",
        good.replace("{region}", "the left eye"): "writes the side 'left'",
        good + " {hat}": "unknown slot {hat}",
        good + " Again {au_1}.": "repeats slot {au_1}",
        good.replace("may suggest", "shows").replace("an uncertain guess", "clearly"): "uncertain",
    }
    for template, reason in cases.items():
        assert any(reason in p for p in template_problems(template, sig)), (template, reason)
    assert parse_candidates('1. In {region} x.\n- {Region} y.\nno slot here\n"{region} z."') == [
        "In {region} x.",
        "{Region} y.",
        "{region} z.",
    ]


@pytest.mark.parametrize("naming", ["both", "plain", "code_name"])
def test_the_code_template_of_every_signature_passes_every_check(astronaut: FaceRecord, naming: str) -> None:
    """What the model is asked to reword is itself a correct template: slots once, facts right,
    whichever way `au_naming` names the AUs (plain wordings state their AU: factcheck.plain_mentions)."""
    describer = TemplaterDescriber(_config(naming))
    record = copy.deepcopy(astronaut)
    for region in [*record.regions, None]:
        text = _text_of(record, region, naming)
        template = base_template(text.signature)
        assert template_problems(template, text.signature) == [], template
        filled = fill(template, describer.values(text))
        assert check_text(filled, text.facts, "long") == [], filled
        if naming == "plain" and text.facts.aus:
            assert not re.search(r"AU\d", filled) and aus_stated(filled) >= {a.au for a in text.facts.aus}
        if naming == "both" and text.facts.aus:
            assert all(a.au in filled for a in text.facts.aus) and plain_mentions(filled)
        assert "{" not in filled and filled.count(".") >= len(base_sentences(text.signature))
        for sentence in base_sentences(text.signature):  # each sentence is asked for on its own
            asked = sentence_messages(sentence, 3)[-1]["content"]
            assert sentence in asked and "3 different ways" in asked


def test_filled_text_has_agreeing_articles_and_capitals() -> None:
    text = fill(
        "{region} shows a {x}. the age is {age}", {"region": "the mouth", "x": "extreme pull", "age": "37"}
    )
    assert text == "The mouth shows an extreme pull. The age is 37."


def test_cached_templates_fill_every_text_and_a_missing_signature_falls_back(
    astronaut: FaceRecord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACEFOCAL_LLM_CACHE", str(tmp_path / "cache"))
    record = copy.deepcopy(astronaut)
    texts = [_text_of(record, r) for r in [*record.regions, None]]
    missing = texts[0].signature  # no templates for this one: the LLM is asked and is not there
    warm = TemplaterDescriber(_config())
    warm.open()
    assert warm.store is not None
    for text in texts:
        if text.signature != missing:
            warm.store.put(text.signature, TemplateSet([_generic(text.signature)], [], 0.0))
    warm.close()
    describer = TemplaterDescriber(_config())  # a new build: templates come from the disk
    describer.describe_batch([record])
    describer.close()
    written, unparsable = [], []
    for region, text in zip([*record.regions, None], texts, strict=True):
        described = record.face_description if region is None else region.description
        facts = face_facts(record) if region is None else region_facts(record, region)
        assert described is not None and check_text(described.text, facts, _style(described, region)) == []
        if text.signature == missing:
            assert described.origin == "fallback" and described.fallback_used
            assert described.describer == "phrases" and described.checks[0].startswith(
                "templater: llm unavailable"
            )
        elif described.origin == "fallback":  # filled with this text's values, it does not parse
            assert described.checks[0] == f"templater: {NO_PARSE}"
            unparsable.append(fill(_generic(text.signature), describer.values(text)))
        else:
            assert described.origin == "cached_template" and described.describer == "templater"
            assert described.model == "m" and described.prompt_version == TEMPLATER_PROMPT_VERSION
            assert f"about {facts.age_years} years old" in described.text  # numbers come from code
            written.append(described.text)
    failed = set(_unparsable(" ".join(written + unparsable)))  # one link-parser run
    assert not failed.intersection(BRACKETED.sub("", s) for t in written for s in sentences(t))
    assert all(failed.intersection(BRACKETED.sub("", s) for s in sentences(t)) for t in unparsable)
    stats = describer.stats.to_dict()
    assert stats["texts"] == len(texts) and stats["disk_hits"] >= 1
    assert stats["texts_cached"] >= len(texts) - 3 and stats["grammar_gate"].startswith("link-grammar")
    assert stats["requests"] == stats["failed_requests"]  # only the missing signature asked, at nowhere
    assert json.loads(json.dumps(stats))  # the build summary stores it


def _reworded(sentence: str) -> str:
    """A slot-keeping rewording of a code sentence, as the model gives them."""
    sentence = sentence.replace("{Region}", "{region}")
    return "Here, " + sentence[0].lower() + sentence[1:]


def test_rewordings_are_cached_per_sentence_and_shared_by_signatures(
    astronaut: FaceRecord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An earlier build's rewordings of the code sentences make every signature's templates with
    no request: each distinct sentence is asked once ever, the checks still run per signature."""
    monkeypatch.setenv("FACEFOCAL_LLM_CACHE", str(tmp_path / "cache"))
    record = copy.deepcopy(astronaut)
    texts = [_text_of(record, r) for r in [*record.regions, None]]
    sentences = {s for t in texts for s in base_sentences(t.signature)}
    per_signature = sum(len(base_sentences(sig)) for sig in {t.signature for t in texts})
    assert len(sentences) < per_signature  # signatures share sentences
    earlier = TemplaterDescriber(_config(rounds=1))
    earlier.open()
    assert earlier.maker is not None
    reworder = earlier.maker.reworder
    for sentence in sentences:
        reworder.store.put(sentence, reworder.params(0), Rewordings([_reworded(sentence)], [], 0.0))
    earlier.close()
    describer = TemplaterDescriber(_config(rounds=1))  # a new build at a port where nothing answers
    describer.describe_batch([record])
    describer.close()
    stats = describer.stats.to_dict()
    assert stats["requests"] == 0 and stats["sentences_asked"] == 0
    assert stats["sentence_disk_hits"] == len(sentences) and stats["sentences_needed"] >= per_signature
    assert stats["candidates"] >= len({t.signature for t in texts})  # checked per signature
    written = _descriptions(record)
    assert sum(d.origin == "fresh_template" for d in written) >= len(written) // 2
    for described, text in zip(
        [record.face_description, *(g.description for g in record.regions)],
        [texts[-1], *texts[:-1]],
        strict=True,
    ):
        assert described is not None
        assert check_text(described.text, text.facts, _style(described, text.region)) == []
        if described.origin == "fresh_template":
            assert described.text.startswith("Here,")


def test_a_spent_budget_writes_the_phrase_bank_and_stores_nothing(
    astronaut: FaceRecord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACEFOCAL_LLM_CACHE", str(tmp_path / "cache"))
    record = copy.deepcopy(astronaut)
    describer = TemplaterDescriber(_config(budget_seconds=0))
    describer.describe_batch([record])
    describer.close()
    stats = describer.stats.to_dict()
    assert stats["requests"] == 0 and stats["sentences_unasked"] >= 1
    assert stats["budget_fallbacks"] == stats["fallbacks"] == stats["texts"] == len(record.regions) + 1
    assert stats["fallback_reasons"] == {BUDGET_SPENT: stats["texts"]}
    for described in _descriptions(record):
        assert described.origin == "fallback" and described.checks[0] == f"templater: {BUDGET_SPENT}"
    assert not list((tmp_path / "cache").rglob("*.json"))  # not stored as failed: the next build asks


@pytest.mark.slow
def test_real_embedded_model_writes_templates_once_and_a_rebuild_reuses_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from facefocal_data import build
    from facefocal_data.exporters.base import iter_records

    monkeypatch.setenv("FACEFOCAL_LLM_CACHE", str(tmp_path / "cache"))
    settings = {
        "regions": {"named": ["mouth", "forehead"], "boxes": {"count": 0}},
        "describe": {
            "describer": "llm",
            "llm": {"timeout": 900, "retries": 0, "templates": {"candidates": 2, "rounds": 2}},
        },
    }
    recipe = Recipe.model_validate(settings)
    first = build(ASTRONAUT, tmp_path / "a", recipe=recipe)
    assert first.describe["texts"] == 3 and first.describe["requests"] >= 1
    # rewording the code's template sentence by sentence, the embedded model gets templates
    # accepted (seeded requests: the same answers every run)
    assert first.describe["accepted"] >= 1 and first.describe["sentences_reworded"] >= 1
    again = build(ASTRONAUT, tmp_path / "b", recipe=recipe)
    stats = again.describe
    assert stats["requests"] == 0 and stats["texts_cached"] + stats["fallbacks"] == stats["texts"] == 3
    assert list((tmp_path / "cache" / "templates").rglob("*.json"))  # stored per signature
    origins = [d.origin for r in iter_records(tmp_path / "b", pixels=False) for d in _descriptions(r)]
    assert "cached_template" in origins  # the rebuild writes from the accepted templates
    a, b = (list(iter_records(tmp_path / d, pixels=False)) for d in ("a", "b"))
    for ra, rb in zip(a, b, strict=True):
        for ga, gb in zip([*ra.regions, None], [*rb.regions, None], strict=True):
            da = ra.face_description if ga is None else ga.description
            db = rb.face_description if gb is None else gb.description
            assert da is not None and db is not None and da.text == db.text
            assert da.origin in ("fresh_template", "cached_template", "fallback")
            assert db.origin in ("cached_template", "fallback")
            assert da.origin != "fresh_template" or da.prompt_version == TEMPLATER_PROMPT_VERSION
            facts = face_facts(ra) if ga is None else region_facts(ra, ga)
            assert check_text(da.text, facts, _style(da, ga)) == []


def test_an_llm_url_alone_selects_the_templater_and_rewriting_stays_an_option() -> None:
    from facefocal_data.cli.build import with_overrides as _with_overrides
    from facefocal_data.describe import DESCRIBERS
    from facefocal_data.describe.llm import LLMDescriber

    recipe = _with_overrides(Recipe(), None, "http://127.0.0.1:9/v1", "m", None)
    assert recipe.describe.describer == "llm" and recipe.describe.llm.mode == "template"
    assert isinstance(DESCRIBERS.create("llm", recipe.describe), TemplaterDescriber)
    kept = _with_overrides(Recipe(), "phrases", "http://127.0.0.1:9/v1", "m", None)
    assert kept.describe.describer == "phrases"  # an explicit --describer wins
    assert Recipe().describe.describer == "phrases"  # no LLM: the phrase bank
    rewrite = DescribeConfig.model_validate({"describer": "llm", "llm": {"mode": "region"}})
    assert isinstance(DESCRIBERS.create("llm", rewrite), LLMDescriber)


@pytest.mark.slow
def test_real_embedded_model_within_a_tiny_budget_falls_back_and_the_next_build_asks_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build that spends its templater budget still finishes: what it could not ask is written
    by the phrase bank and not stored, so the next build asks for more sentences."""
    from facefocal_data import build
    from facefocal_data.exporters.base import iter_records

    monkeypatch.setenv("FACEFOCAL_LLM_CACHE", str(tmp_path / "cache"))
    templates = {"candidates": 2, "rounds": 1, "budget_seconds": 1}
    settings = {
        "regions": {"named": ["mouth", "forehead"], "boxes": {"count": 0}},
        "describe": {"describer": "llm", "llm": {"timeout": 900, "retries": 0, "templates": templates}},
    }
    recipe = Recipe.model_validate(settings)
    first = build(ASTRONAUT, tmp_path / "a", recipe=recipe).describe
    assert first["texts"] == 3 and first["sentences_asked"] >= 1 and first["sentences_unasked"] >= 1
    assert first["budget_fallbacks"] >= 1 and first["fallback_reasons"].get(BUDGET_SPENT, 0) >= 1
    stored = list((tmp_path / "cache" / "sentences").rglob("*.json"))
    assert len(stored) == first["sentences_asked"]  # only what was asked
    checks = [d.checks for r in iter_records(tmp_path / "a", pixels=False) for d in _descriptions(r)]
    assert [f"templater: {BUDGET_SPENT}"] in [c[:1] for c in checks]
    second = build(ASTRONAUT, tmp_path / "b", recipe=recipe).describe
    assert second["sentence_disk_hits"] == first["sentences_asked"]  # nothing asked twice
    assert second["sentences_asked"] >= 1  # the next build asks for more
    assert len(list((tmp_path / "cache" / "sentences").rglob("*.json"))) > len(stored)


def test_au_naming_shapes_the_templaters_rows_and_the_budget_does_not() -> None:
    def hashed(**describe: object) -> str:
        return Recipe.model_validate({"describe": {"describer": "llm", **describe}}).content_hash()

    assert hashed(au_naming="both") != hashed(au_naming="plain") != hashed(au_naming="code_name")
    assert hashed() == hashed(llm={"templates": {"budget_seconds": 5}})  # how long, not what
    region = {"describer": "llm", "llm": {"mode": "region"}}
    plain = Recipe.model_validate({"describe": {**region, "au_naming": "plain"}}).content_hash()
    assert plain == Recipe.model_validate({"describe": region}).content_hash()  # rewriting ignores it


def test_a_sentence_shape_shares_one_parse_across_numbers_case_and_intensity() -> None:
    adverbs = ("strongly", "very strongly", "slightly", "clearly")
    a = shaped("The person is about 29 years old, likely 24 to 37 (80 % interval).", None)
    assert a == shaped("The person is about 41 years old, likely 35 to 52 (80 % interval).", None)
    assert a == "The person is about 55 years old, likely 55 to 55." and "1 year" in shaped("1 year")
    gate = GrammarGate(True, None, TemplaterStats(), threading.Lock(), adverbs)
    assert gate.adverbs is not None
    one = shaped("The lips are strongly parted, coded as AU25 (Lips Part).", gate.adverbs)
    assert one == shaped("The lips are slightly parted, coded as AU26 (Jaw Drop).", gate.adverbs)
    assert one == "The lips are strongly parted, coded as AU55."
    for own in ("very strongly", "clearly"):  # parsed as they are: they parse where others do not
        assert own in shaped(f"The lips are {own} parted.", gate.adverbs)


@needs_parser
def test_the_grammar_gate_parses_a_batch_in_one_run_and_caches_by_shape(tmp_path: Path) -> None:
    """Many texts, one link-parser run; a text of a shape seen before costs no run; a later build
    reads the shapes from the disk file of this link-grammar version."""
    stats, lock = TemplaterStats(), threading.Lock()
    gate = GrammarGate(True, tmp_path, stats, lock)
    good = [f"The person is about {n} years old. The mouth is at rest." for n in (23, 37, 58)]
    bad = "The person about is 37 years old old."
    assert gate.failures([*good, bad]) == {bad}
    assert stats.grammar_runs == 1 and stats.grammar_parsed == 3  # two shapes of the good texts
    assert gate.failures(["THE PERSON IS ABOUT 71 YEARS OLD.", "The person about is 19 years old old."]) == {
        "The person about is 19 years old old."
    }
    assert stats.grammar_runs == 1 and stats.grammar_sentences == 9  # all hits: no second run
    gate.save()
    later_stats = TemplaterStats()
    later = GrammarGate(True, tmp_path, later_stats, lock)
    assert later.failures([good[0], bad]) == {bad}
    assert later_stats.grammar_runs == 0 and later_stats.grammar_disk_hits == 3
    assert [p.name for p in tmp_path.iterdir()] == [f"link-grammar-{stats.grammar_gate.split()[-1]}.json"]
    streams = [iter([bad, good[1]]), iter([bad]), iter([good[2]]), iter([])]
    assert later.first_parsing(streams) == [(good[1], 1), (None, 1), (good[2], 0), (None, 0)]


@needs_parser
def test_a_long_list_parsed_by_runs_side_by_side_finds_what_one_run_finds() -> None:
    """`unparsed` splits a long list over parallel link-parser runs; the failures are the same
    sentences, in the input's order, as from a single run."""
    good = [f"The person is about {n} years old." for n in range(20, 80)]
    bad = [f"The person about is {n} years old old." for n in range(20, 80)]
    mixed = [s for pair in zip(good, bad, strict=True) for s in pair]
    assert unparsed(mixed, jobs=1) == unparsed(mixed, jobs=2) == bad


def _garbled(template: str) -> str:
    """The template with its age sentence in broken English (it passes every check but grammar)."""
    return template.replace("The person is about {age} years old", "The person about is {age} years old old")


@needs_parser
def test_a_filled_text_that_does_not_parse_takes_the_next_template_or_the_phrase_bank(
    astronaut: FaceRecord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACEFOCAL_LLM_CACHE", str(tmp_path / "cache"))
    record = copy.deepcopy(astronaut)
    texts = [_text_of(record, r) for r in [*record.regions, None]]
    earlier = TemplaterDescriber(_config())
    earlier.open()
    assert earlier.store is not None
    only_bad = texts[0].signature
    for text in texts:
        generic = _generic(text.signature)
        assert _garbled(generic) != generic
        kept = [_garbled(generic)] if text.signature == only_bad else [_garbled(generic), generic]
        earlier.store.put(text.signature, TemplateSet(kept, [], 0.0))
    earlier.close()
    describer = TemplaterDescriber(_config())
    describer.describe_batch([record])
    describer.close()
    stats = describer.stats
    for described, text in zip(_descriptions(record), [texts[-1], *texts[:-1]], strict=True):
        assert "years old old" not in described.text
        if text.signature == only_bad:
            assert described.origin == "fallback" and described.checks[0] == f"templater: {NO_PARSE}"
    assert stats.grammar_retries >= 1 and stats.grammar_fallbacks >= 1
    assert stats.grammar_runs <= 2  # one run for the batch's first choices, one for the next
    assert stats.fallback_reasons[NO_PARSE] == stats.grammar_fallbacks
    assert list((tmp_path / "cache" / "grammar").glob("link-grammar-*.json"))  # kept for later builds
    off = TemplaterDescriber(_config(grammar=False))  # the switch: nothing parsed
    off.open()
    assert off.store is not None
    for text in texts:
        off.store.put(text.signature, TemplateSet([_garbled(_generic(text.signature))], [], 0.0))
    unchecked = copy.deepcopy(astronaut)
    off.describe_batch([unchecked])
    off.close()
    assert off.stats.grammar_gate.startswith("off") and off.stats.grammar_runs == 0
    assert any("years old old" in d.text for d in _descriptions(unchecked))


def test_without_link_parser_the_templater_writes_and_says_so_once(
    astronaut: FaceRecord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACEFOCAL_LLM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # a machine without link-grammar
    record = copy.deepcopy(astronaut)
    describer = TemplaterDescriber(_config())
    describer.open()
    assert describer.store is not None
    for text in [_text_of(record, r) for r in [*record.regions, None]]:
        describer.store.put(text.signature, TemplateSet([_garbled(_generic(text.signature))], [], 0.0))
    with pytest.warns(RuntimeWarning, match="link-parser is not installed") as said:
        describer.describe_batch([record])
        describer.describe_batch([copy.deepcopy(astronaut)])
    describer.close()
    assert len(said) == 1 and describer.stats.grammar_gate == MISSING
    assert describer.stats.grammar_sentences == 0 and describer.stats.texts_cached >= 1
