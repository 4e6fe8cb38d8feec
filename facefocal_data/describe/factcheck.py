"""Check a description against its facts: the gate every text passes before it is written.

A text is faithful when every AU it names is present in the region under its canonical FACS
name, the emotion and age it states agree with the labels, every number it quotes is one of the
facts, and every face part it names lies in the region's vocabulary. It is complete when it
states each present AU, the emotion and the age. Template and LLM text go through the same gate;
the evaluator (issue 8) extracts facts with the same functions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from ..facs import AU_NAMES
from ..record import FaceRecord, Region
from .bank import after_word_char, plain_index, single_spaced
from .facts import PART_WORDS, Facts, region_facts

# "AU12", "AU 12", "AU1" optionally followed by "(Name)", or inside brackets as "(AU12, Name)"
AU_MENTION = re.compile(
    r"\bAU\s?(\d{1,2})\b(?:\s*\(([^)]*)\)|,\s*([A-Za-z][A-Za-z -]*?)(?=\s*\)))?", re.IGNORECASE
)
# AU_MENTION without its first word boundary (checked by hand): a pattern that starts with its
# letters is scanned for them, one that starts with a boundary is tried at every character
AU_SCAN = re.compile(AU_MENTION.pattern.removeprefix(r"\b"), AU_MENTION.flags)
EMOTION_WORDS: dict[str, tuple[str, ...]] = {
    "happiness": ("happiness", "happy", "joy", "joyful", "cheerful", "pleased"),
    "sadness": ("sadness", "sad", "unhappy", "sorrowful"),
    "surprise": ("surprise", "surprised", "astonished", "amazed"),
    "fear": ("fear", "fearful", "afraid", "scared", "frightened", "alarmed"),
    "anger": ("anger", "angry", "irate"),
    "disgust": ("disgust", "disgusted", "repulsed"),
    "contempt": ("contempt", "contemptuous", "scornful", "disdainful"),
    "neutral": ("neutral", "impassive"),
}
# What no label states: a text naming any of these says more than the facts (clothing, hair,
# identity, background, gender, ethnicity). When a label comes to state one (a gender label,
# say), its words leave this list for that label's facts.
# fmt: off
EXTRA_FACT_WORDS: dict[str, tuple[str, ...]] = {
    "clothing": (
        "wear", "wears", "wearing", "worn", "dressed", "clothes", "clothing", "outfit", "shirt", "blouse",
        "jacket", "coat", "suit", "spacesuit", "uniform", "sweater", "hoodie", "hood", "collar", "tie",
        "scarf", "dress", "hat", "cap", "helmet", "headscarf", "hijab", "turban", "veil", "mask",
    ),
    "accessories": (
        "glasses", "spectacles", "sunglasses", "goggles", "earring", "earrings", "necklace", "jewellery",
        "jewelry", "bracelet", "piercing", "piercings", "headband", "headphones", "makeup", "lipstick",
        "mascara", "tattoo", "tattoos",
    ),
    "hair": (
        "hair", "haired", "hairstyle", "blonde", "blond", "brunette", "redhead", "bald", "beard", "bearded",
        "moustache", "mustache", "stubble", "ponytail", "braid", "braids", "fringe", "bangs", "sideburns",
    ),
    "identity": (
        "celebrity", "famous", "actor", "actress", "astronaut", "president", "politician", "athlete",
        "singer",
    ),
    "background": (
        "background", "backdrop", "wall", "sky", "room", "indoors", "outdoors", "studio", "street", "tree",
        "trees", "building", "flag", "scenery", "landscape", "window", "camera",
    ),
    "gender": (
        "man", "men", "woman", "women", "male", "female", "boy", "boys", "girl", "girls", "he", "she",
        "him", "his", "her", "hers", "himself", "herself", "gentleman", "lady", "ladies", "guy", "mr",
        "mrs", "ms",
    ),
    "ethnicity": (
        "caucasian", "asian", "african", "hispanic", "latino", "latina", "ethnic", "ethnicity", "race",
        "racial", "complexion",
    ),
}
# fmt: on


def _index(groups: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Word -> the groups that list it: a text's words meet all of a table's words in one set
    operation, instead of one `isdisjoint` per group (most texts name one emotion, a part or two)."""
    index: dict[str, tuple[str, ...]] = {}
    for group, words in groups.items():
        for word in words:
            index[word] = (*index.get(word, ()), group)
    return index


EMOTIONS_OF = _index(EMOTION_WORDS)
EMOTION_WORD_SET = frozenset(EMOTIONS_OF)
PARTS_OF = _index(PART_WORDS)
PART_WORD_SET = frozenset(PARTS_OF)
EXTRA_FACT_INDEX = {word: kind for kind, words in EXTRA_FACT_WORDS.items() for word in words}
EXTRA_FACT_WORD_SET = frozenset(EXTRA_FACT_INDEX)  # a set meets a set in C, a dict's keys in Python
# a capitalised word; one right after a word character is not a word of its own (the word
# boundary before it is checked by hand: a pattern that starts with a character scans faster)
CAPITAL_WORD = re.compile(r"[A-Z][a-z]+\b")
SENTENCE_ENDS = ".!?:;(\"'"  # a capital after one of these (and spaces), or at the start, starts a sentence
SENTENCE_ENDS_AFTER = frozenset(SENTENCE_ENDS)  # one of them as a one-character string
# CAPITAL_WORD where the loop in `_extra_facts` reads it at all: after a non-word character and
# not after one of SENTENCE_ENDS and a space (the look-behinds come after the capital, so the
# pattern still starts with a character). Its words all known, a text has no proper name: one
# findall in C instead of a Python loop over every capital (sentence starts, FACS names).
CAPITAL_INSIDE = re.compile(r"[A-Z](?<=\W[A-Z])(?<![.!?:;(\"'] [A-Z])[a-z]+\b")
WORD = re.compile(r"[a-z]+")
NAME_TO_AU = {name.lower(): au for au, name in AU_NAMES.items()}
NAME_LOWER = {au: name.lower() for au, name in AU_NAMES.items()}
# a mention's code as written ("7", "07", "12") -> its normal form, without int() and a format
CODES = {f"{n:0{width}d}": f"AU{n:02d}" for n in range(100) for width in (1, 2)}
# each canonical name as a whole-word pattern, tried only where the name occurs at all
BARE_NAME = {au: re.compile(rf"\b{re.escape(name)}\b") for name, au in NAME_TO_AU.items()}
# the words of each name: a name is found only where all of its words are (names are words of
# letters, so its words are among WORD's words wherever it occurs); most texts have none
NAME_WORDS = [(name, au, frozenset(WORD.findall(name))) for name, au in NAME_TO_AU.items()]
_NameWords = tuple[str, str, frozenset[str]]


def _by_last_word(entries: list[_NameWords]) -> dict[str, list[_NameWords]]:
    """NAME_WORDS filed by each name's last word: a text is tried for the names it may hold."""
    by_last: dict[str, list[_NameWords]] = {}
    for entry in entries:
        by_last.setdefault(WORD.findall(entry[0])[-1], []).append(entry)
    return by_last


NAMES_BY_LAST = _by_last_word(NAME_WORDS)
NAME_LAST_WORDS = frozenset(NAMES_BY_LAST)
NUMERIC = re.compile(r"[\d.]*\d")  # a run of digits and dots: an integer or a decimal
DIGITS_AND_DOTS = re.compile(r"[\d.]+")  # NUMERIC's runs before their trailing dots go: scans faster
# bytes other than a-z as spaces: WORD's words by one split (findall was the check's slowest scan)
LETTERS_ONLY = bytes(c if 97 <= c <= 122 else 32 for c in range(256))
# bytes other than 0-9 and '.' as spaces: DIGITS_AND_DOTS's runs of an ASCII text by one split
# (\d, a Unicode category, is tested per character: the findall cost 5 µs a text)
DIGITS_AND_DOTS_ONLY = bytes(c if 48 <= c <= 57 or c == 46 else 32 for c in range(256))
BRACKETED = re.compile(r"\[[^\]]*\]")
PERCENT = re.compile(r"\d+(?:\.\d+)?\s?%")
SENTENCE_SPLIT = re.compile(r"[.;!?]\s+")
# numbers written in words, as prose writes an age ("about thirty-five", "a twelve-year-old"): read
# as the number they say, so a wrong one fails as a wrong digit does. The counting words one to
# ten are not read ("one side", "the two brows", "three action units"); the bank writes ages
# under 11 in digits.
# fmt: off
SMALL_NUMBERS = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
]
TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
# fmt: on
FIRST_READ = 11  # the smallest number read (and written) in words
NUMBER_VALUES = {w: i for i, w in enumerate(SMALL_NUMBERS) if i >= FIRST_READ}
NUMBER_VALUES |= {w: 20 + 10 * i for i, w in enumerate(TENS)}
NUMBER_WORD_SET = frozenset(NUMBER_VALUES)
TENS_SET = frozenset(TENS)
ONES_AFTER_TENS = re.compile(rf"-({'|'.join(SMALL_NUMBERS[1:10])})\b")  # "-nine" after "twenty"
# the word boundary before a number is checked in `_word_number` (a pattern that starts with a
# boundary is tried at every character; one that starts with its letters is scanned for them)
NUMBER_WORDS = re.compile(
    rf"({'|'.join(TENS)})(?:-({'|'.join(SMALL_NUMBERS[1:10])}))?\b|({'|'.join(SMALL_NUMBERS[FIRST_READ:])})\b",
    re.IGNORECASE,
)
# "terse": the phrase describer's region texts (bank v4), which say the emotion and the age in
# one sentence, an at-rest region's often with its rest: 8 words state every fact of one
LENGTH_WORDS = {"short": (8, 60), "long": (20, 140), "terse": (8, 140)}


def length_style(describer: str, region: bool) -> str:
    """The length style a written text was gated with: the phrase describer's region texts are
    `terse`, every other text `long` (for checking a text again from its record)."""
    return "terse" if describer == "phrases" and region else "long"


WORDS_PER_AU = 10  # each present AU may take this many more words


@dataclass(frozen=True)
class Reading:
    """A text read once for the gate, which checks every text of a build: its checks each
    scanning the text on their own made the gate cost as much as composing the text."""

    mentions: tuple[tuple[str, str | None], ...]  # (code, name or None) of each AU named by code
    bare: str  # the text without those mentions (codes and their names)
    bare_lower: str
    words: frozenset[str]  # the text's lower-case words
    bare_words: frozenset[str]  # the words of `bare`


@lru_cache(maxsize=256)
def read(text: str) -> Reading:
    """The text's AU mentions, its bare text and the words of both, from one scan for mentions."""
    return _read(text, text.lower())


def _read(text: str, lower: str) -> Reading:
    """`read` uncached, `lower` given: `check_text`, which reads each text once, skips the cache.

    A mention starts after a non-word character and ends before one (or at a ')'), so no word
    runs across its edges: the text's words are the bare text's and the mentions' together
    (the bare text read whole, the mentions' short texts apart, not the whole text twice)."""
    # a mention starts with an a and a u (of either case): most texts without one are not scanned
    matches = _au_matches(text, lower) if "au" in lower else []
    if not matches:
        words = _word_set(lower)
        return Reading((), text, lower, words, words)
    mentions, pieces, said, last = [], [], [], 0
    for match in matches:
        code, named, listed = match.groups("")
        mentions.append((CODES.get(code) or f"AU{int(code):02d}", (named or listed).strip() or None))
        pieces.append(text[last : match.start()])
        said.append(match.group())
        last = match.end()
    pieces.append(text[last:])
    bare = " ".join(pieces)
    bare_lower = bare.lower()
    bare_words = _word_set(bare_lower)
    words = bare_words | _word_set(" ".join(said).lower())
    return Reading(tuple(mentions), bare, bare_lower, words, bare_words)


def _au_matches(text: str, lower: str) -> list[re.Match[str]]:
    """AU_MENTION.finditer(text): candidates found by AU_SCAN, kept where a word boundary is
    before them; past one that is not, the search goes on from its next character (a mention
    may begin inside it). In an ASCII text, where a mention can only begin at an "au" of either
    case, those places are found by `str.find` and AU_SCAN matched there: its search, case-blind,
    tried every character (5 µs a text). `lower`: the text lower-cased (the caller has it)."""
    if not text.isascii():
        return list(_au_scan(text))
    found = []
    at = lower.find("au")
    while at >= 0:
        match = AU_SCAN.match(text, at)
        if match is None or after_word_char(text, at):
            at = lower.find("au", at + 1)
            continue
        found.append(match)
        at = lower.find("au", match.end())
    return found


def _au_scan(text: str) -> Iterator[re.Match[str]]:
    at = 0
    while (match := AU_SCAN.search(text, at)) is not None:
        begin = match.start()
        if after_word_char(text, begin):
            at = begin + 1
            continue
        yield match
        at = match.end()


def _word_set(lower: str) -> frozenset[str]:
    """frozenset(WORD.findall(lower)): every character but a-z (non-ASCII ones as '?') splits."""
    return frozenset(lower.encode("ascii", "replace").translate(LETTERS_ONLY).decode("ascii").split())


def au_mentions(text: str) -> list[tuple[str, str | None]]:
    """(code, name or None) for every AU the text names, code normalised to 'AU07'."""
    return list(read(text).mentions)


def plain_mentions(text: str) -> set[str]:
    """AUs the text states in the phrase bank's plain wording ("the lip corners are drawn up")."""
    return plain_index().mentions(text, read(text).words)


def check_aus(text: str, present: Iterable[str], described: set[str] | None = None) -> list[str]:
    """Problems with the AU mentions in `text`; empty when faithful. `described`: the AUs the
    text states in plain wording, when the caller has them already."""
    described = plain_mentions(text) if described is None else described
    return _check_aus(read(text), set(present), described)


def _check_aus(reading: Reading, allowed: set[str], described: set[str]) -> list[str]:
    unlabelled = described - allowed
    problems = (
        [f"{au} is described in words but not present in the region" for au in unlabelled]
        if unlabelled
        else []
    )
    for au, name in reading.mentions:
        if au not in allowed:
            problems.append(f"{au} is named but not present in the region")
        if name is None:
            problems.append(f"{au} is named without its FACS name")
        elif name.lower() != NAME_LOWER.get(au):  # None where the code is no FACS AU
            problems.append(f"{au} is called {name!r}; its FACS name is {AU_NAMES.get(au)!r}")
    # a canonical name without its code still states the AU
    named = _bare_names(reading) - allowed
    if named:  # a comprehension is a call (most texts name none)
        problems += [
            f"'{AU_NAMES[au]}' ({au}) is named but not present in the region" for au in sorted(named)
        ]
    return problems


def _bare_names(reading: Reading) -> set[str]:
    """AUs named by their canonical name alone, outside the AU mentions: only the names whose
    last word the text has are tried (most texts have none)."""
    bare, words = reading.bare_lower, reading.bare_words
    lasts = words & NAME_LAST_WORDS
    if not lasts:  # most texts: no generators built
        return set()
    candidates = (entry for word in lasts for entry in NAMES_BY_LAST[word])
    found = (au for name, au, need in candidates if need <= words and name in bare)
    return {au for au in found if BARE_NAME[au].search(bare)}


def aus_stated(text: str) -> set[str]:
    """Every AU a text states: by code ("AU12 (Lip Corner Puller)"), by its canonical name alone,
    or by a phrase-bank appearance wording alone ("the lip corners are drawn up and back")."""
    reading = read(text)
    named = _bare_names(reading)
    return {au for au, _ in reading.mentions} | plain_mentions(text) | named


def _known_capitalised() -> frozenset[str]:
    """Words a text may capitalise mid-sentence: FACS names and the emotion words."""
    words = {w for name in AU_NAMES.values() for w in name.split()} | {"Action", "Unit", "Units"}
    return frozenset(words | {w.capitalize() for names in EMOTION_WORDS.values() for w in names})


KNOWN_CAPITALISED = _known_capitalised()


def extra_facts_stated(text: str) -> list[str]:
    """What the text says that no label states: clothing, hair, identity, background, gender,
    ethnicity (a word list), and proper names (a capitalised word inside a sentence)."""
    return _extra_facts(text, read(text).words)


def _extra_facts(text: str, words: frozenset[str]) -> list[str]:
    said = words & EXTRA_FACT_WORD_SET
    problems = (
        [f"says {w!r} ({EXTRA_FACT_INDEX[w]}), which no label states" for w in sorted(said)] if said else []
    )
    if KNOWN_CAPITALISED.issuperset(CAPITAL_INSIDE.findall(text)):
        return problems  # every capital inside a sentence a FACS or emotion word (most texts)
    for match in CAPITAL_WORD.finditer(text):
        word = match.group()
        if word in KNOWN_CAPITALISED:  # most capitals: the FACS names of the AU mentions
            continue
        at = match.start()
        if at == 0 or (text[at - 1] == " " and text[at - 2 : at - 1] in SENTENCE_ENDS_AFTER):
            continue  # a sentence's first word after ". " (or the text's)
        if after_word_char(text, at) or _starts_sentence(text, at):
            continue
        problems.append(f"names {word!r}, a proper name no label states")
    return problems


def _starts_sentence(text: str, at: int) -> bool:
    """Whether only spaces come before `at`, or one of SENTENCE_ENDS and spaces (read backwards
    from `at` instead of scanning the whole text for sentence starts)."""
    i = at - 1
    while i >= 0 and text[i].isspace():
        i -= 1
    return i < 0 or text[i] in SENTENCE_ENDS


def emotions_stated(text: str) -> set[str]:
    return _emotions(read(text).words)


def _emotions(words: frozenset[str]) -> set[str]:
    return {e for w in words & EMOTION_WORD_SET for e in EMOTIONS_OF[w]}


def parts_stated(text: str) -> set[str]:
    """Canonical face parts named in the text, outside AU names (those are checked as AUs)."""
    return _parts(read(text).bare_words)


def _parts(words: frozenset[str]) -> set[str]:
    return {p for w in words & PART_WORD_SET for p in PARTS_OF[w]}


def numbers_stated(text: str) -> tuple[list[float], list[int]]:
    """(decimals, integers) the text quotes, leaving out AU codes, percentages and box coordinates.

    Integers of four or more digits are no age and no fact a text quotes; they are left out.
    Numbers in words ("thirty-five") count as their digits."""
    return _quoted(read(text))


def _quoted(reading: Reading) -> tuple[list[float], list[int]]:
    """The text's numbers, in digits or in words: what the check and `numbers_stated` read."""
    decimals, integers = _numbers(reading.bare)
    return decimals, integers + _word_integers(reading)


def in_words(n: int) -> str:
    """11-99 in words ("twenty-nine"); other numbers in digits (the check reads no smaller words)."""
    if not FIRST_READ <= n <= 99:
        return str(n)
    if n < 20:
        return SMALL_NUMBERS[n]
    tens, ones = divmod(n, 10)
    return TENS[tens - 2] + (f"-{SMALL_NUMBERS[ones]}" if ones else "")


def _word_number(match: re.Match[str]) -> str:
    if after_word_char(match.string, match.start()):  # inside a word ("often", "twentieth")
        return match.group()
    tens, ones, small = match.groups()
    if small:
        return str(NUMBER_VALUES[small.lower()])
    return str(NUMBER_VALUES[tens.lower()] + (SMALL_NUMBERS.index(ones.lower()) if ones else 0))


def as_digits(text: str) -> str:
    """The text with its numbers in words as digits ("about twenty-nine" -> "about 29")."""
    return NUMBER_WORDS.sub(_word_number, text)


def _word_integers(reading: Reading) -> list[int]:
    """The numbers the text writes in words ("twenty-nine" 29, "seventeen" 17), found by the
    words it has (most texts have none; `as_digits`, a regex over the text, cost 80 µs a text).
    In the order the text says them: the words are a set, whose order moves with the hash seed."""
    present = reading.words & NUMBER_WORD_SET
    if not present:
        return []
    lower, found = reading.bare_lower, []
    for word in present:
        at = lower.find(word)
        while at >= 0:
            end = at + len(word)
            if not (after_word_char(lower, at) or lower[end : end + 1].isalpha()):
                ones = ONES_AFTER_TENS.match(lower, end) if word in TENS_SET else None
                found.append((at, NUMBER_VALUES[word] + (SMALL_NUMBERS.index(ones.group(1)) if ones else 0)))
            at = lower.find(word, end)
    found.sort()
    return [value for _, value in found]


def _digit_runs(text: str) -> list[str]:
    """DIGITS_AND_DOTS.findall(text); an ASCII text's by bytes (\\d is 0-9 there)."""
    if text.isascii():
        return text.encode("ascii").translate(DIGITS_AND_DOTS_ONLY).decode("ascii").split()
    return DIGITS_AND_DOTS.findall(text)


def _numbers(bare: str) -> tuple[list[float], list[int]]:
    decimals: list[float] = []
    integers: list[int] = []
    rest = BRACKETED.sub(" ", bare) if "[" in bare else bare
    rest = PERCENT.sub(" ", rest) if "%" in rest else rest
    for found in _digit_runs(rest):
        if found == ".":  # a full stop, most runs
            continue
        run = found.rstrip(".")  # what NUMERIC finds in it: up to its last digit
        if not run:
            continue
        if run.startswith(".."):  # "..5": dots before a decimal's digits are one point
            run = "." + run.lstrip(".")
        pieces = run.split(".")
        if len(pieces) == 1:
            integers += [int(run)] if len(run) <= 3 else []
        else:  # "0.97", ".5"; "1.2.3" (no number anyone writes) counts as 1.2
            decimals.append(float(f"{pieces[0]}.{pieces[1]}"))
    return decimals, integers


def check_text(text: str, facts: Facts, style: str = "short") -> list[str]:
    """Every reason `text` may not be written as a description of `facts`; empty when it passes."""
    lower = text.lower()
    reading = _read(text, lower)
    present = [a.au for a in facts.aus] if facts.aus else []
    spaced = single_spaced(text)
    described = plain_index().mentions_in(lower, reading.words, spaced)
    problems = _check_aus(reading, set(present), described)
    if present:
        mentioned = {au for au, _ in reading.mentions} | described
        problems += [f"{au} is present but not stated" for au in present if au not in mentioned]
    problems += _check_emotion(reading.words, facts) + _check_numbers(reading, facts)
    problems += _check_parts(reading, facts) + _check_repetition(text, lower, spaced)
    problems += _extra_facts(text, reading.words)
    low, high = LENGTH_WORDS[style]
    high += WORDS_PER_AU * len(present)
    words = _word_count(text, spaced)
    if not low <= words <= high:
        problems.append(f"{words} words; a {style} description has {low}-{high}")
    return list(dict.fromkeys(problems)) if problems else problems


def _word_count(text: str, spaced: bool) -> int:
    """len(text.split()); a single-spaced text's by counting its spaces (no list of words made)."""
    if not spaced or not text:
        return len(text.split())
    return text.count(" ") + 1 - text.startswith(" ") - text.endswith(" ")


def _check_repetition(text: str, lower: str, spaced: bool) -> list[str]:
    """`spaced`: `single_spaced(text)`, `lower` its lower case: a sentence ends at one of .;!? and
    one space, so one `split` of `lower` finds the sentences SENTENCE_SPLIT finds, lower-cased."""
    if spaced:
        pieces = lower.replace("; ", ". ").replace("! ", ". ").replace("? ", ". ").split(". ")
        alike = set(map(str.strip, pieces))
    else:
        pieces = SENTENCE_SPLIT.split(text)
        alike = set(map(str.lower, map(str.strip, pieces)))
    if len(alike) == len(pieces):
        return []  # no two sentences alike even lower-cased and stripped (most texts)
    # len(s.split(None, 2)) >= 3 is len(s.split()) >= 3 without splitting the whole sentence
    sentences = [s.strip().lower() for s in pieces if len(s.split(None, 2)) >= 3]
    return ["repeats a sentence"] if len(sentences) != len(set(sentences)) else []


def _check_emotion(words: frozenset[str], facts: Facts) -> list[str]:
    said = words & EMOTION_WORD_SET
    if len(said) == 1 and EMOTIONS_OF[next(iter(said))] == (facts.emotion,):
        return []  # one emotion word, the label's (most texts): no sets built
    stated = _emotions(words)
    if facts.emotion is None:
        return [f"states emotion {e!r} but the face has no emotion label" for e in sorted(stated)]
    problems = [
        f"states emotion {e!r}; the label is {facts.emotion!r}" for e in sorted(stated - {facts.emotion})
    ]
    if facts.emotion not in stated:
        problems.append(f"does not state the emotion ({facts.emotion})")
    return problems


def _check_numbers(reading: Reading, facts: Facts) -> list[str]:
    decimals, integers = _quoted(reading)
    problems = []
    if decimals:
        known = {a.value for a in facts.aus if a.value is not None} | {facts.emotion_p}
        problems = [f"quotes {d} which is none of the facts" for d in decimals if round(d, 2) not in known]
    ages = _ages(facts.age_years, facts.age_range, facts.age_bin)
    if facts.age_years is not None and facts.age_years not in integers:
        problems.append(f"does not state the age ({facts.age_years} years)")
    if not ages.issuperset(integers):
        problems += [
            f"states the number {i}, which is no age or fact here" for i in integers if i not in ages
        ]
    return problems


@lru_cache(maxsize=1024)
def _ages(years: int | None, interval: tuple[int, int] | None, age_bin: str | None) -> frozenset[int]:
    """The integers a text may quote as the age: the point estimate, its interval, the bin's ends."""
    if years is None:
        return frozenset()
    low, high = interval or (years, years)
    ages = set(range(min(low, years), max(high, years) + 1))
    if age_bin:
        ages |= {int(v) for v in NUMERIC.findall(age_bin)}
    return frozenset(ages)


def _outside(part: str) -> str:
    return (
        "names a face part no label covers"
        if part == "unlabelled"
        else f"names the {part}, outside this region"
    )


def _check_parts(reading: Reading, facts: Facts) -> list[str]:
    outside = _parts(reading.bare_words) - facts.parts
    problems = [_outside(part) for part in sorted(outside)] if outside else []
    if facts.side is not None:
        other = "right" if facts.side == "left" else "left"
        if other in reading.words:
            problems.append(f"speaks of the {other} side in a {facts.side}-side region")
    return problems


def check_region(
    text: str, region: Region, record: FaceRecord | None = None, style: str = "long"
) -> list[str]:
    """AU faithfulness only, or the whole gate when the record is given."""
    if record is None:
        return check_aus(text, (a.au for a in region.aus if a.present))
    return check_text(text, region_facts(record, region), style)
