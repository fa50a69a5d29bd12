"""Grounded claims: what an AI says must point at the members' own words, and code checks it.

An AI contribution is made of claims. Each claim cites member contributions by id, with a short
verbatim quote from each. The model is not trusted to copy a quote: the prompt lists the
members' contributions as numbered sentences ("3.2" is the second sentence of contribution #3)
and the reply's schema makes the model choose sentence numbers from exactly those. Code then
turns each number back into (contribution id, sentence) and checks every citation against the
contributions the prompt was built from: the contribution was in the prompt, it is a member's
(an AI participant's own earlier words are never evidence of what members said), and the quote
occurs in its text after Unicode NFKC and whitespace normalisation. A claim is kept only when
every one of its citations holds. Endpoints that ignore the schema may also answer with
explicit `{"id": 3, "quote": "..."}` citations; those are checked the same way, and a raw quote
longer than `MAX_RAW_QUOTE_CHARS` is refused before it is even normalised.

What is stored and shown for a citation is never the model's string: it is the member's own
text for the matched span (the normalised match mapped back to the contribution's characters,
whitespace runs shown as one space, invisible characters left out), so a quote the model
dressed up with direction overrides, control characters, newlines or full-width letters is
shown as the member wrote it.

Pure functions only: no model, no network, no Discord.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.ai.clean import strip_control

# A quote shorter than this (after normalisation) proves nothing ("the", "yes").
MIN_QUOTE_CHARS = 8
# Quotes are short; a sentence longer than this is cut into word-aligned pieces.
MAX_QUOTE_CHARS = 200
# A quote as the model sent it, before normalisation: longer than this and it is refused unread
# (a 200-character quote with generous spacing fits many times over; padding with megabytes of
# NULs or newlines does not).
MAX_RAW_QUOTE_CHARS = 4 * MAX_QUOTE_CHARS

# Sentence ends: Latin and CJK full stops, question and exclamation marks, ellipsis, semicolons,
# each followed by space (or, for CJK marks, by anything); newlines always end a sentence.
_SENTENCE_END = re.compile(r"(?<=[.!?;…])\s+|(?<=[。！？；])|\n+")


def normalise(text: str) -> str:
    """NFKC, control characters dropped, every run of whitespace one space, trimmed."""
    return " ".join(unicodedata.normalize("NFKC", strip_control(text)).split())


def normalise_mapped(text: str) -> tuple[str, list[tuple[int, int]]]:
    """`normalise(text)` with, for each of its characters, the span of `text` it came from.

    Each normalised character maps to the original characters (start, end) it was made from,
    so a match in the normalised text can be shown as the original wrote it. NFKC is applied
    per run of a base character and its combining marks; in the rare text where that differs
    from NFKC of the whole (some Hangul jamo sequences), the result is not `normalise(text)`
    and callers fall back to the normalised form.
    """
    chars: list[str] = []
    spans: list[tuple[int, int]] = []
    kept = [(i, ch) for i, ch in enumerate(text) if strip_control(ch)]
    run_start = 0
    while run_start < len(kept):
        run_end = run_start + 1
        while run_end < len(kept) and unicodedata.combining(kept[run_end][1]):
            run_end += 1
        begin, end = kept[run_start][0], kept[run_end - 1][0] + 1
        for ch in unicodedata.normalize("NFKC", "".join(ch for _, ch in kept[run_start:run_end])):
            chars.append(ch)
            spans.append((begin, end))
        run_start = run_end
    # Whitespace runs become one space; leading and trailing whitespace goes.
    out: list[str] = []
    out_spans: list[tuple[int, int]] = []
    pending: tuple[int, int] | None = None
    for ch, span in zip(chars, spans, strict=True):
        if ch.isspace():
            pending = pending or span
            continue
        if pending is not None and out:
            out.append(" ")
            out_spans.append(pending)
        pending = None
        out.append(ch)
        out_spans.append(span)
    return "".join(out), out_spans


def member_words(text: str, start: int, end: int) -> str:
    """The member's own characters `text[start:end]`, as one line with nothing invisible."""
    return " ".join(strip_control(text[start:end]).split())


def split_sentences(text: str, max_chars: int = MAX_QUOTE_CHARS) -> list[str]:
    """The sentences of `text`, each normalised and at most `max_chars` long.

    Every piece returned occurs in `normalise(text)`: a long sentence is cut between words,
    never rewritten. Pieces too short to quote, or without a letter or digit, are dropped.
    """
    pieces: list[str] = []
    for raw in _SENTENCE_END.split(unicodedata.normalize("NFKC", strip_control(text))):
        sentence = " ".join(raw.split())
        while len(sentence) > max_chars:
            cut = sentence.rfind(" ", 0, max_chars + 1)
            if cut < max_chars // 2:  # one very long word, or text without spaces (CJK)
                cut = max_chars
            pieces.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        if sentence:
            pieces.append(sentence)
    # Too short to cite ("Yes."), or nothing but punctuation: never listed, so never cited.
    return [p for p in pieces if len(p) >= MIN_QUOTE_CHARS and any(ch.isalnum() for ch in p)]


@dataclass(frozen=True, slots=True)
class Source:
    """One numbered sentence shown to the model: `key` "3.2" is sentence 2 of contribution #3."""

    key: str
    contribution_id: int
    text: str


def number_sentences(contribution_id: int, text: str, limit: int) -> list[Source]:
    """The first `limit` sentences of one contribution, numbered for a prompt."""
    return [
        Source(f"{contribution_id}.{n}", contribution_id, sentence)
        for n, sentence in enumerate(split_sentences(text)[:limit], start=1)
    ]


@dataclass(frozen=True, slots=True)
class Citation:
    """A claim's link to a member contribution, with a verbatim quote from it."""

    contribution_id: int
    quote: str

    def to_dict(self) -> dict[str, object]:
        return {"id": self.contribution_id, "quote": self.quote}


@dataclass(frozen=True, slots=True)
class Claim:
    """One thing an AI says, and the members' words it draws on."""

    text: str
    citations: tuple[Citation, ...]

    def to_dict(self) -> dict[str, object]:
        return {"text": self.text, "cites": [c.to_dict() for c in self.citations]}


# Why a citation (and so its claim) is not kept.
NOT_IN_PROMPT = "cites a contribution that was not in the prompt"
CITES_AI = "cites an AI participant's contribution, not a member's"
QUOTE_NOT_FOUND = "quote not found in the cited contribution"
QUOTE_TOO_SHORT = "quote too short"
QUOTE_TOO_LONG = "quote too long"
UNKNOWN_SENTENCE = "cites a sentence number the prompt did not list"
NO_CITATION = "cites nothing"


def _citation(item: object, sources: Mapping[str, Source]) -> Citation | str:
    """One entry of a claim's "quotes" list: a sentence number, or an explicit {id, quote}."""
    if isinstance(item, int | float) and not isinstance(item, bool):
        item = str(item)
    if isinstance(item, str):
        key = item.strip().lstrip("#[").rstrip("]")
        source = sources.get(key)
        return Citation(source.contribution_id, source.text) if source is not None else UNKNOWN_SENTENCE
    if isinstance(item, dict):
        ident, quote = item.get("id"), item.get("quote")
        if isinstance(ident, str) and ident.strip().lstrip("#").isdigit():
            ident = int(ident.strip().lstrip("#"))
        if isinstance(ident, int) and not isinstance(ident, bool) and isinstance(quote, str):
            return Citation(ident, quote)
    return UNKNOWN_SENTENCE


@dataclass(frozen=True, slots=True)
class ClaimCheck:
    """The claims kept, and each dropped claim with the first reason it failed."""

    kept: tuple[Claim, ...]
    dropped: tuple[tuple[str, str], ...]  # (claim text, reason)


def ground_citation(citation: Citation, given: Mapping[int, str], ai_ids: Collection[int] = ()) -> Citation | str:
    """The citation as the member wrote it when it holds against the prompt's contributions,
    else why not.

    `ai_ids` are contributions by AI participants: never citable, even when shown. The returned
    citation's quote is the member's own text for the matched span, never the model's string.
    """
    if citation.contribution_id in ai_ids:
        return CITES_AI
    text = given.get(citation.contribution_id)
    if text is None:
        return NOT_IN_PROMPT
    if len(citation.quote) > MAX_RAW_QUOTE_CHARS:
        return QUOTE_TOO_LONG
    quote = normalise(citation.quote)
    if len(quote) < MIN_QUOTE_CHARS:
        return QUOTE_TOO_SHORT
    if len(quote) > MAX_QUOTE_CHARS:
        return QUOTE_TOO_LONG
    whole = normalise(text)
    at = whole.find(quote)
    if at < 0:
        return QUOTE_NOT_FOUND
    mapped, spans = normalise_mapped(text)
    if mapped != whole:
        # Per-run NFKC differs from the whole text's (rare): show the normalised span.
        return Citation(citation.contribution_id, quote)
    start, end = spans[at][0], spans[at + len(quote) - 1][1]
    return Citation(citation.contribution_id, member_words(text, start, end))


def verify_citation(citation: Citation, given: Mapping[int, str], ai_ids: Collection[int] = ()) -> str | None:
    """None when the citation holds against the contributions in the prompt, else why not."""
    grounded = ground_citation(citation, given, ai_ids)
    return grounded if isinstance(grounded, str) else None


def check_claims(
    raw_claims: object,
    sources: Iterable[Source],
    given: Mapping[int, str],
    *,
    clean: Callable[[str], str] | None = None,
    ai_ids: Collection[int] = (),
) -> ClaimCheck:
    """Parse the model's "claims" list and keep the claims whose every citation holds.

    `given` maps the id of every contribution the prompt showed to its full text; a
    contribution not in it (an opted-out member's, one left out for room, an invented id)
    can never be cited, nor can one in `ai_ids` (an AI participant's). `clean` makes a claim's
    text safe to post (applied before it counts). Kept citations carry the member's own words.
    """
    by_key = {s.key: s for s in sources}
    kept: list[Claim] = []
    dropped: list[tuple[str, str]] = []
    if not isinstance(raw_claims, list):
        return ClaimCheck((), ())
    for item in raw_claims:
        if not isinstance(item, dict):
            dropped.append(("", "not a claim"))
            continue
        text = item.get("text")
        if not isinstance(text, str) or not text.strip():
            dropped.append(("", "claim without text"))
            continue
        text = clean(text) if clean is not None else text.strip()
        if not text:
            dropped.append(("", "claim without text"))
            continue
        quotes = item.get("quotes")
        entries = quotes if isinstance(quotes, list) else []
        citations: list[Citation] = []
        problem: str | None = None if entries else NO_CITATION
        for entry in entries:
            parsed = _citation(entry, by_key)
            if isinstance(parsed, str):
                problem = parsed
                break
            grounded = ground_citation(parsed, given, ai_ids)
            if isinstance(grounded, str):
                problem = grounded
                break
            if grounded not in citations:
                citations.append(grounded)
        if problem is not None:
            dropped.append((text, problem))
            continue
        kept.append(Claim(text, tuple(citations)))
    return ClaimCheck(tuple(kept), tuple(dropped))


def cited_ids(claims: Sequence[Claim]) -> tuple[int, ...]:
    """Every contribution id the claims cite, in first-cited order."""
    seen: dict[int, None] = {}
    for claim in claims:
        for citation in claim.citations:
            seen.setdefault(citation.contribution_id, None)
    return tuple(seen)
