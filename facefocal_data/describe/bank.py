"""The phrase bank: curated wordings in `describe/phrases/*.yaml`, loaded once and checked.

Wording lives in data so that linguists can extend it without touching code; the checks here
keep it honest: every AU of the FACS table has wordings, every phrase's slots match the facts
its group says it states (so a composed text's facts are known by construction), every file
has the same `phrase_bank_version`. The fact check reads the AU wordings too (`plain_index`),
so a plain-language text that says "the lip corners are drawn up and back" states AU12.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from ..facs import AU_NAMES, INTENSITY_WORDS
from .facts import PART_WORDS

BANK_DIR = Path(__file__).with_name("phrases")
FILES = ("aus", "regions", "emotion", "age")
SLOT = re.compile(r"\{(\w+)\}")
CHOICE = re.compile(r"\[([^\[\]]*)\]")  # "[drawn|pulled] up": one sentence written as a small grammar
MAX_EXPANSIONS = 5000  # per phrase: a typo in a choice list should not make millions
WORD = re.compile(r"[a-z]+")
SPACES = r"\s+"
# slot -> the fact a phrase states by filling it
SLOT_FACTS: dict[str, str] = {
    "name": "region",
    "where": "region",
    "clauses": "aus",
    "items": "aus",
    "noun": "emotion",
    "adj": "emotion",
    "p": "emotion.p",
    "cues": "emotion.cues",
    "years": "age.years",
    "low": "age.range",
    "high": "age.range",
    "bin": "age.bin",
    "bin_words": "age.bin",
}
FREE_SLOTS = {"here"}  # refers back, states nothing
WORDING_FACTS = {"gt", "uncertain", "aus.none", "age.at_least"}  # stated by a group's words, not a slot
NOUN_START = "a {adj} "  # how every noun wording begins ("a marked lowering of the brows")
INTENSITIES = tuple(word for _, word in INTENSITY_WORDS)


class PhraseBankError(ValueError):
    """A phrase file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Phrase:
    """One sentence frame and the facts it states."""

    text: str
    states: frozenset[str]
    slots: frozenset[str]
    facts: frozenset[str]  # the states a slot fills (`states` less what the wording itself says)
    line: int = 0  # the line of the bank it was written on: the expansions of one line share it


@dataclass(frozen=True)
class Wording:
    """One way to say an AU's appearance change: both sides / one side, parts each names."""

    both: str
    side: str
    parts_both: frozenset[str]
    parts_side: frozenset[str]
    only: frozenset[str] | None  # intensities it may be used for; None: any (it has {adv})


@dataclass(frozen=True)
class Family:
    names: tuple[str, ...]
    preps: tuple[str, ...]
    covering: tuple[str, ...] = ()


@dataclass(frozen=True)
class PhraseBank:
    version: int
    adverbs: dict[str, tuple[str, ...]]
    adjectives: dict[str, tuple[str, ...]]  # intensity -> adjectives that state it in a noun wording
    degrees: dict[str, tuple[str, ...]]  # intensity -> phrases said after a wording instead of an adverb
    code_name: dict[str, tuple[str, ...]]  # graded | annotated | ungraded noun phrases
    attach: dict[str, tuple[str, ...]]  # estimate | annotated: clause + code and name
    plain_annotated: tuple[str, ...]
    wordings: dict[str, tuple[Wording, ...]]  # every expansion of every wording
    nouns: dict[str, tuple[Wording, ...]]  # au -> its noun wordings ({adj}), none for some AUs
    patterns: dict[str, tuple[str, ...]]  # au -> its wordings as written (with [a|b] choices)
    cues: dict[str, tuple[tuple[str, str], ...]]  # au -> (both, side) noun phrases
    families: dict[str, Family]
    cover_words: dict[str, str]
    here: tuple[str, ...]
    frames: dict[str, tuple[Phrase, ...]]  # open.clause, open.noun, more.*, rest, rest.blend
    pair: tuple[str, ...]
    pair_nominal: tuple[str, ...]  # two AU noun wordings with their codes in one sentence
    emotion_words: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]  # label -> (nouns, adjectives)
    emotion: dict[str, tuple[Phrase, ...]]  # "estimate.cue" -> phrases
    blend: dict[str, tuple[Phrase, ...]]  # estimate | uncertain | tail: emotion and age in one sentence
    age: dict[str, tuple[Phrase, ...]]  # "estimate" | "gt" -> phrases
    bin_words: dict[str, str]


def choices(text: str) -> list[list[str]]:
    """The alternatives of each `[a|b]` choice of a phrase, in order ("[a|]": a or nothing)."""
    return [group.split("|") for group in CHOICE.findall(text)]


def expand(text: str) -> list[str]:
    """Every sentence a phrase written as a small grammar stands for: each `[a|b|c]` choice is one
    of its alternatives; spaces are tidied (an empty alternative leaves none behind)."""
    parts = CHOICE.split(text)  # literal, choice, literal, choice, ...
    out = [""]
    for i, part in enumerate(parts):
        options = part.split("|") if i % 2 else [part]
        out = [head + option for head in out for option in options]
        if len(out) > MAX_EXPANSIONS:
            raise PhraseBankError(f"{text!r} stands for more than {MAX_EXPANSIONS} sentences")
    return [" ".join(t.split()) for t in out]


def _flat(items: Any) -> tuple[str, ...]:
    """A list of phrases, each expanded, order kept, duplicates dropped."""
    return tuple(dict.fromkeys(t for item in items for t in expand(item)))


@cache
def parts_named(text: str) -> frozenset[str]:
    """Canonical face parts a piece of text names (slots left out)."""
    words = set(WORD.findall(SLOT.sub(" ", text).lower()))
    return frozenset(part for part, names in PART_WORDS.items() if words & set(names))


def _phrases(groups: Any, where: str) -> tuple[Phrase, ...]:
    """A list of {states, say} groups; each sentence's slots must state exactly the group's facts."""
    out = []
    line = 0
    for group in groups or ():
        states = frozenset(group["states"])
        for written in group["say"]:
            for text in expand(written):
                slots = frozenset(SLOT.findall(text))
                stated = {SLOT_FACTS[s.lower()] for s in slots if s.lower() in SLOT_FACTS}
                unknown = {s for s in slots if s.lower() not in SLOT_FACTS and s.lower() not in FREE_SLOTS}
                if unknown or stated != states - WORDING_FACTS:
                    raise PhraseBankError(
                        f"{where}: {text!r} fills {sorted(stated)} (unknown slots {sorted(unknown)}) "
                        f"but its group states {sorted(states)}"
                    )
                slots_ = frozenset(s.lower() for s in slots)
                out.append(Phrase(text, states, slots_, frozenset(stated), line))
            line += 1
    return tuple(dict.fromkeys(out))


def _pairs(au: str, both: str, side: str) -> list[tuple[str, str]]:
    """A wording's both-sides and one-side forms expanded together: their `[a|b]` choices are
    aligned (the i-th alternative of one is the i-th of the other), so each pair says one thing."""
    if [len(c) for c in choices(both)] != [len(c) for c in choices(side)]:
        raise PhraseBankError(f"aus.yaml {au}: {both!r} and {side!r} need the same choices, in order")
    return list(dict.fromkeys(zip(expand(both), expand(side), strict=True)))


def _wordings(au: str, entry: dict[str, Any], key: str = "say", slot: str = "{adv}") -> tuple[Wording, ...]:
    """An AU's clause wordings (`say`, intensity in {adv}) or noun wordings (`noun`, in {adj})."""
    out = []
    for item in entry.get(key) or ():
        both, side = item["both"], item.get("side", item["both"])
        only = item.get("only")
        if only is None and not all(slot in t for t in (both, side)):
            raise PhraseBankError(f"aus.yaml {au}: {both!r} has no {slot} and no `only` intensities")
        if only is not None and not set(only) <= set(INTENSITIES):
            raise PhraseBankError(f"aus.yaml {au}: `only` {only} are not intensity words {INTENSITIES}")
        if key == "noun" and not all(t.startswith(NOUN_START) for t in (both, side)):
            raise PhraseBankError(f"aus.yaml {au}: noun wording {both!r} does not begin {NOUN_START!r}")
        for b, s in _pairs(au, both, side):
            if any(t.startswith(slot) or t.endswith(slot) for t in (b, s)):
                raise PhraseBankError(f"aus.yaml {au}: {b!r}: {slot} goes between words")
            limit = None if only is None else frozenset(only)
            out.append(Wording(b, s, parts_named(b), parts_named(s), limit))
    if not out and key == "say":
        raise PhraseBankError(f"aus.yaml {au}: no wordings")
    return tuple(out)


def _patterns(entry: dict[str, Any]) -> tuple[str, ...]:
    """An AU's wordings as written, for the fact check's reading (`plain_index`): its clauses, and
    its noun wordings from the noun on ("lowering of the [brows|eyebrows]"), which is what says
    the AU, whatever article and adjective come before it."""
    said = [t for i in entry["say"] for t in (i["both"], i.get("side", i["both"]))]
    nouns = [
        t.removeprefix(NOUN_START)
        for i in entry.get("noun") or ()
        for t in (i["both"], i.get("side", i["both"]))
    ]
    return tuple(dict.fromkeys(said + nouns))


def _cues(au: str, entry: Any) -> tuple[tuple[str, str], ...]:
    """An AU's `cue`: one {both, side} noun phrase or a list of them."""
    entries = entry if isinstance(entry, list) else [entry]
    return tuple(p for c in entries for p in _pairs(au, c["both"], c.get("side", c["both"])))


def _read(name: str) -> dict[str, Any]:
    path = BANK_DIR / f"{name}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("phrase_bank_version"), int):
        raise PhraseBankError(f"{path.name}: a mapping with an integer phrase_bank_version")
    return data


def _au_part(data: dict[str, Any]) -> dict[str, Any]:
    aus = data["aus"]
    missing = sorted(set(AU_NAMES) - set(aus))
    extra = sorted(set(aus) - set(AU_NAMES))
    if missing or extra:
        raise PhraseBankError(f"aus.yaml: missing AUs {missing}, unknown AUs {extra}")
    for key in ("adverbs", "adjectives", "degrees"):
        if set(data[key]) != set(INTENSITIES):
            raise PhraseBankError(f"aus.yaml: {key} for exactly {INTENSITIES}")
    return {
        "adverbs": {k: _flat(v) for k, v in data["adverbs"].items()},
        "adjectives": {k: _flat(v) for k, v in data["adjectives"].items()},
        "degrees": {k: _flat(v) for k, v in data["degrees"].items()},
        "code_name": {k: tuple(v) for k, v in data["code_name"].items()},
        "attach": {k: tuple(v) for k, v in data["attach"].items()},
        "plain_annotated": _flat(data["plain_annotated"]),
        "wordings": {au: _wordings(au, entry) for au, entry in aus.items()},
        "nouns": {au: _wordings(au, entry, "noun", "{adj}") for au, entry in aus.items()},
        "patterns": {au: _patterns(e) for au, e in aus.items()},
        "cues": {au: _cues(au, e["cue"]) for au, e in aus.items()},
    }


def _region_part(data: dict[str, Any]) -> dict[str, Any]:
    families = {
        name: Family(_flat(f["names"]), _flat(f["preps"]), _flat(f.get("covering", ())))
        for name, f in data["families"].items()
    }
    frames = {
        f"{kind}.{style}": _phrases(groups, f"regions.yaml {kind}.{style}")
        for kind in ("open", "more")
        for style, groups in data[kind].items()
    }
    frames["rest"] = _phrases(data["rest"], "regions.yaml rest")
    frames["rest.blend"] = _phrases(data["rest_blend"], "regions.yaml rest_blend")
    return {
        "families": families,
        "cover_words": dict(data["cover_words"]),
        "here": _flat(data["here"]),
        "frames": frames,
        "pair": _flat(data["pair"]),
        "pair_nominal": _flat(data["pair_nominal"]),
    }


def _emotion_part(data: dict[str, Any]) -> dict[str, Any]:
    words = {k: (_flat(v["noun"]), _flat(v["adj"])) for k, v in data["words"].items()}
    emotion = {
        f"{status}.{kind}": _phrases(groups, f"emotion.yaml {status}.{kind}")
        for status in ("estimate", "uncertain", "gt")
        for kind, groups in data[status].items()
    }
    blend = {kind: _phrases(groups, f"emotion.yaml blend.{kind}") for kind, groups in data["blend"].items()}
    return {"emotion_words": words, "emotion": emotion, "blend": blend}


def _age_part(data: dict[str, Any]) -> dict[str, Any]:
    age = {status: _phrases(data[status], f"age.yaml {status}") for status in ("estimate", "gt")}
    return {"age": age, "bin_words": dict(data.get("bin_words") or {})}


@cache
def load_bank() -> PhraseBank:
    """The shipped bank, read once per process."""
    data = {name: _read(name) for name in FILES}
    versions = {data[name]["phrase_bank_version"] for name in FILES}
    if len(versions) != 1:
        raise PhraseBankError(f"phrase files disagree on phrase_bank_version: {sorted(versions)}")
    try:
        parts = {
            **_au_part(data["aus"]),
            **_region_part(data["regions"]),
            **_emotion_part(data["emotion"]),
            **_age_part(data["age"]),
        }
    except (KeyError, TypeError) as exc:
        raise PhraseBankError(f"phrase bank entry missing or malformed: {exc!r}") from None
    return PhraseBank(version=versions.pop(), **parts)


def after_word_char(text: str, at: int) -> bool:
    """Whether a word character (regex \\w) comes before `at`: no word boundary there. Patterns
    that start with their letters and check this by hand scan far faster than ones that start
    with \\b, which the regex engine tries at every character."""
    return at > 0 and (text[at - 1].isalnum() or text[at - 1] == "_")


def _literal(text: str) -> str:
    return r"\s+".join(re.escape(word) for word in text.split())


PIECE = re.compile(r"\s+|\[[^\]]*\]|[^\s\[]+")  # white space, a choice, or a word with its punctuation


def _pattern(text: str, adverbs: str) -> str:
    """A wording as a regex: each `[a|b]` choice any of its alternatives (or none, where one is
    empty), its {adv} slot one bank adverb or none; words apart by any white space."""
    out: list[str] = []
    spaced = False
    for piece in PIECE.findall(text):
        if piece.isspace():
            spaced = True
            continue
        lead = r"\s+" if spaced and out else ""
        spaced = False
        if piece == "{adv}":
            out.append(rf"(?:\s+(?:{adverbs}))?")
        elif piece.startswith("["):
            alternatives = (lead + _literal(a) if a else "" for a in piece[1:-1].split("|"))
            out.append("(?:" + "|".join(alternatives) + ")")
        else:
            out.append(lead + re.escape(piece))
    return "".join(out)


# a wording's entry in `PlainIndex.by_start`: (the a-z words any text it matches has, its AU, its
# regex with the word boundary after it, the beginnings one of which a single-spaced text it
# matches has where it matches, or None: `_heads`)
Candidate = tuple[frozenset[str], str, re.Pattern[str], tuple[str, ...] | None]
MAX_HEADS = 32  # a wording's beginnings are read up to where they would be more
# a start pair's entry in `PlainIndex.by_anchor`: (its order among the starts, its a-z words, its
# regex, the pair as one string where `str.find` may stand for the regex (else None), its wordings)
Start = tuple[int, frozenset[str], re.Pattern[str], str | None, tuple[Candidate, ...]]
# a start pair found in a text: (where it begins, its order, where it ends, its wordings)
Found = tuple[int, int, int, tuple[Candidate, ...]]
AZ_WORD = re.compile("[a-z]+")


@dataclass(frozen=True)
class PlainIndex:
    """Every AU wording as a regex, filed under the first two words it may start with (its
    start pair). The text's a-z words say which start pairs it may hold, each one's regex finds
    where, and the pair's wordings are tried in order (longest first), only those whose words
    the text has. It replaced one regex of all 124 start pairs (bank v5) scanning every text,
    then one alternation of the pair's wordings: 30-40 µs a text."""

    by_anchor: dict[str, tuple[Start, ...]]  # a start pair's longest a-z word -> its entries
    anchors: frozenset[str]  # by_anchor's keys

    def mentions(self, text: str, words: frozenset[str]) -> set[str]:
        """The AUs `text` words plainly; `words`: its lower-case a-z words (`factcheck.read`).

        Reads what one scan for the leftmost start pair at a time reads: a start after a word
        character is none, and one found ends the next one's search (the starts are read in
        the text's order, each dropped where it begins before the last one read ends)."""
        return self.mentions_in(text.lower(), words, single_spaced(text))

    def mentions_in(self, lower: str, words: frozenset[str], spaced: bool) -> set[str]:
        """`mentions` of a text already lower-cased (the gate has it; a text costs one `lower`).
        `spaced`: `single_spaced` of the text, where the caller knows it (start pairs found by `find`;
        an ASCII text lower-cased keeps its white space where it was)."""
        found: set[str] = set()
        at = 0
        for begin, _, end, readings in sorted(self._starts(lower, words, spaced)):
            if begin < at:
                continue
            for need, au, wording, heads in readings:
                # in a single-spaced text a wording begins with one of its heads where it matches:
                # `startswith` rules out most (five in six) before their regex is run
                if not need <= words or (spaced and heads and not lower.startswith(heads, begin)):
                    continue
                if wording.match(lower, begin):
                    found.add(au)
                    break
            at = end
        return found

    def _starts(self, lower: str, words: frozenset[str], spaced: bool) -> list[Found]:
        """(begin, order, end, wordings) of every start pair in `lower` after no word character.
        A start pair's a-z words are whole words of the text there, so only the pairs whose
        words the text has are searched for (most texts: two to five). At one place only one
        pair matches but where a pair's second word begins another's (none in bank v5); the
        order says which one the alternation of them all, in this order, finds there.

        In a text whose only white space is single spaces (`spaced`), a pair's \\s+ is one space:
        its regex search is a `str.find` of the pair (a regex call costs more), its \\b no word
        character after it (the pair ends with one); a space either side is the usual edge."""
        out: list[Found] = []
        for anchor in words & self.anchors:
            for order, need, starts, pair, readings in self.by_anchor[anchor]:
                if not need <= words:
                    continue
                if not spaced or pair is None:
                    out += _searched(lower, order, starts, readings)
                    continue
                begin = lower.find(pair)
                while begin >= 0:
                    end = begin + len(pair)
                    if (begin == 0 or lower[begin - 1] == " " or not after_word_char(lower, begin)) and (
                        end == len(lower) or lower[end] == " " or not after_word_char(lower, end + 1)
                    ):
                        out.append((begin, order, end, readings))
                    begin = lower.find(pair, begin + 1)
        return out


def _searched(
    lower: str, order: int, starts: re.Pattern[str], readings: tuple[Candidate, ...]
) -> list[Found]:
    """A start pair's places in `lower` found by its regex (any text)."""
    out: list[Found] = []
    start = starts.search(lower)
    while start is not None:
        begin = start.start()
        if not after_word_char(lower, begin):
            out.append((begin, order, start.end(), readings))
        start = starts.search(lower, begin + 1)
    return out


def single_spaced(text: str) -> bool:
    """Whether the text is ASCII and its only white space is single spaces (a composed text's):
    every ASCII white space character but the space is unprintable."""
    return text.isascii() and text.isprintable() and "  " not in text


def _longest(item: tuple[str, tuple[int, str]]) -> int:
    return -item[1][0]


@cache
def plain_index() -> PlainIndex:
    """The AU wordings (any side form, any bank adverb or none) for `factcheck.plain_mentions`:
    each wording as written, a regex over all its choices, filed under every pair of first words
    one of its expansions starts with."""
    bank = load_bank()
    adverbs = _alternation([a.split() for v in bank.adverbs.values() for a in v])
    index: dict[str, dict[str, tuple[int, str]]] = {}
    for au, patterns in bank.patterns.items():
        for i, pattern in enumerate(patterns):
            forms = [f.lower() for f in expand(pattern)]
            size = max(len(f) for f in forms)
            for form in forms:
                index.setdefault(" ".join(form.split()[:2]), {})[f"{au}_{i}"] = (size, pattern.lower())
    regexes: dict[str, re.Pattern[str]] = {}
    by_start = {  # longest wording first, so that none hides a longer one it begins
        k: tuple(
            (
                _needs(p),
                g.partition("_")[0],
                regexes.get(p) or regexes.setdefault(p, _compiled(p, adverbs)),
                _heads(p),
            )
            for g, (_, p) in sorted(v.items(), key=_longest)
        )
        for k, v in index.items()
    }
    by_anchor = _by_anchor(sorted(index, key=len, reverse=True), by_start)
    return PlainIndex(by_anchor, frozenset(by_anchor))


def _alternation(phrases: list[list[str]]) -> str:
    """Phrases (each its words) as one regex alternation with their common beginnings shared, a
    letter at a time ("s(?:trongly|lightly)"): it states what the flat list states (a wording's
    regex is only asked whether it matches), but a text is tried against a letter's few
    continuations instead of every phrase in turn (a tenth of the wording matches' cost; the
    index builds about as fast: compiling is not where the flat list's length costs)."""
    trie: dict[str, Any] = {}
    for words in phrases:
        node = trie
        for token in _tokens(words):
            node = node.setdefault(token, {})
        node[""] = {}  # a phrase ends here
    return _branches(trie)


def _tokens(words: list[str]) -> list[str]:
    """A phrase's regex a piece at a time: each character escaped, words apart by any white space."""
    return [SPACES if c == " " else re.escape(c) for c in " ".join(words)]


def _branches(node: dict[str, Any]) -> str:
    """The regex of a trie node: its continuations as one alternation (optional where a phrase ends)."""
    ways = [token + _branches(child) for token, child in node.items() if token]
    if not ways:
        return ""
    joined = "|".join(ways)
    if "" in node:
        return f"(?:{joined})?"
    return joined if len(ways) == 1 else f"(?:{joined})"


def _heads(wording: str) -> tuple[str, ...] | None:
    """What a single-spaced text has where the wording's regex (`_pattern`) matches it: one of
    these beginnings, its choices' alternatives each in turn, up to its {adv} slot or while they
    are at most MAX_HEADS; None where one is empty (every text would have it)."""
    heads, spaced, started = [""], False, False
    for piece in PIECE.findall(wording):
        if piece.isspace():
            spaced = True
            continue
        if piece == "{adv}":
            break
        lead = " " if spaced and started else ""  # where `_pattern` puts \s+: one space here
        spaced, started = False, True
        if piece.startswith("["):
            ways = [lead + " ".join(a.split()) if a else "" for a in piece[1:-1].split("|")]
        else:
            ways = [lead + piece]
        if len(heads) * len(ways) > MAX_HEADS:
            break
        heads = [head + way for head in heads for way in ways]
    return None if "" in heads else tuple(dict.fromkeys(heads))


def _compiled(wording: str, adverbs: str) -> re.Pattern[str]:
    return re.compile(rf"(?:{_pattern(wording, adverbs)})\b")


def _needs(wording: str) -> frozenset[str]:
    """The a-z words every text a wording's regex matches has as words of its own: the runs of
    a-z letters of its fixed words that neither a choice nor an {adv} slot touches (the match
    starts after no word character and ends at a word boundary; its words are apart by spaces)."""
    pieces = PIECE.findall(wording)
    needs: set[str] = set()
    for i, piece in enumerate(pieces):
        if piece.isspace() or piece.startswith("[") or piece == "{adv}":
            continue
        open_left = i > 0 and not pieces[i - 1].isspace()  # right after a choice: a word goes on
        open_right = i + 1 < len(pieces) and not pieces[i + 1].isspace()
        for run in AZ_WORD.finditer(piece):
            if not ((open_left and run.start() == 0) or (open_right and run.end() == len(piece))):
                needs.add(run.group())
    return frozenset(needs)


def _by_anchor(keys: list[str], by_start: dict[str, tuple[Candidate, ...]]) -> dict[str, tuple[Start, ...]]:
    """Each start pair ("the lips") as a regex ("the\\s+lips\\b"), ordered as one alternation of
    them all grouped by first word would try them (the groups as their first pairs come, longest
    first), filed under its longest a-z word. No word boundary first: a regex that starts with
    its letters is scanned for them (the one before is checked in `mentions`)."""
    groups: dict[str, list[str]] = {}
    for key in keys:
        groups.setdefault(key.partition(" ")[0], []).append(key)
    out: dict[str, list[Start]] = {}
    for order, key in enumerate(k for group in groups.values() for k in group):
        first, _, second = key.partition(" ")
        regex = re.compile(re.escape(first) + (SPACES + _literal(second) if second else "") + r"\b")
        words = AZ_WORD.findall(key)
        if not words:  # a pair that every text would be searched for: no bank wording starts so
            raise PhraseBankError(f"a wording starts with {key!r}, which has no word of letters a-z")
        pair = key if second and key[-1].isalnum() and " " not in second else None  # see `_starts`
        out.setdefault(max(words, key=len), []).append((order, frozenset(words), regex, pair, by_start[key]))
    return {anchor: tuple(entries) for anchor, entries in out.items()}
