"""The templater's prompt: reword a code-made template of the signature, keeping its slots.

Small models cannot write a template from a list of slots (SmolLM2-135M wrote no line with a
slot; Qwen2.5-Coder-0.5B dropped slots and copied the example's emotion word: 0 accepted). So
code writes the signature's template itself, plain and correct, every number and name a slot
(`base_template`), one or two slots a sentence, and the model is asked only to reword it, one
sentence per request, keeping every `{slot}` once, after four worked examples of slot-keeping
rewordings (asked to reword the whole template, SmolLM2 dropped or repeated slots in every
line). The checks downstream decide as before; a candidate identical to the code's template is
rejected (it adds no variety: the phrase bank already writes that kind of text). Rewordings
are cached per sentence (describe/template_sentences.py), shared by every signature. Change
TEMPLATER_PROMPT_VERSION whenever the wording or the code template changes: it keys the cache.
"""

from __future__ import annotations

from .slots import MAX_AU_SLOTS, Signature

TEMPLATER_PROMPT_VERSION = "templater-v3"

SYSTEM = (
    "You reword one sentence of a template. Words in curly braces, such as {region}, are slots: "
    "copy every slot exactly as written, each one exactly once, and add no other slot, number or "
    "name. Change the other words. Answer with the reworded sentences only, one per line."
)
# (sentence, two slot-keeping rewordings): one per kind of sentence the code writes
EXAMPLES: tuple[tuple[str, tuple[str, str]], ...] = (
    (
        "{Region} shows {au_1}.",
        ("In {region} there is {au_1}.", "One can see {au_1} in {region}."),
    ),
    (
        "In {region}, {au_1}.",
        ("Looking at {region}, {au_1}.", "As for {region}, {au_1}."),
    ),
    (
        "The face is estimated to show {emotion}.",
        ("The expression of the face is most likely {emotion}.", "The face seems to express {emotion}."),
    ),
    (
        "The person is about {age} years old.",
        ("The person looks around {age} years old.", "The age is estimated at {age} years."),
    ),
)


def _aus_sentences(signature: Signature) -> list[str]:
    """AU slots hold noun phrases (au_naming code_name: "a strong AU12 (Lip Corner Puller)") or
    clauses (plain / both: "the lip corners are strongly drawn up and back"), which need frames
    of their own."""
    if signature.aus == 0:
        return ["{Region} is at rest, with no action unit active."]
    first, more = (
        ("In {region}, {%s}.", "Also, {%s}.")
        if signature.clauses
        else ("{Region} shows {%s}.", "It also shows {%s}.")
    )
    if signature.aus > MAX_AU_SLOTS:
        return [first % "aus"]
    return [first % "au_1", *(more % f"au_{i}" for i in range(2, signature.aus + 1))]


EMOTION_VERBS = {
    "estimate": "The face is estimated to show {emotion}.",
    "uncertain": "The face possibly shows {emotion}, though the estimate is uncertain.",
    "gt": "The face is annotated as showing {emotion}.",
}


def _emotion_sentences(signature: Signature) -> list[str]:
    if signature.emotion == "none":
        return []
    cues = ["It is typically shown by {cues}."] if signature.cues else []  # any number of cues
    return [EMOTION_VERBS[signature.emotion], *cues]


def _age_sentences(signature: Signature) -> list[str]:
    if not signature.age:
        return []
    first = (
        "The annotated age is {age} years." if signature.age_gt else "The person is about {age} years old."
    )
    out = [first]
    if "range" in signature.age:
        out.append("The likely age range is {age_low} to {age_high}.")
    if "bin" in signature.age:
        out.append("That is the {age_bin} age group.")
    return out


def base_sentences(signature: Signature) -> list[str]:
    """The signature's plain template, written by code, as sentences: what moves, the emotion,
    the age; one or two slots a sentence, since a small model keeps only a few slots right.
    Together they hold every slot once and pass every check."""
    return [*_aus_sentences(signature), *_emotion_sentences(signature), *_age_sentences(signature)]


def base_template(signature: Signature) -> str:
    return " ".join(base_sentences(signature))


def _request(sentence: str, count: int) -> str:
    ways = "one way" if count == 1 else f"{count} different ways"
    return f"Sentence: {sentence}\nReword it in {ways}, keeping every slot."


def sentence_messages(sentence: str, count: int) -> list[dict[str, str]]:
    """System rules, four worked examples (request + answer), then the sentence to reword."""
    messages = [{"role": "system", "content": SYSTEM}]
    for example, answers in EXAMPLES:
        messages.append({"role": "user", "content": _request(example, len(answers))})
        messages.append({"role": "assistant", "content": "\n".join(answers)})
    messages.append({"role": "user", "content": _request(sentence, count)})
    return messages
