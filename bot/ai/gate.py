"""The gate before posting: an AI contribution that is not usable is never posted.

`gate` looks at what would be posted and returns why it must not be (a short reason shown in
the notice and the record), or None. It rejects output that

- has no claim whose citations hold (see `bot.ai.grounding`), or is too short to say anything;
- is mostly digits or punctuation ("2026-11-29 10:00 1 2 3 4");
- echoes the prompt's own instructions, or carries the prompt's markup (data-block markers,
  chat-template tokens, role prefixes: the shape of an injection);
- directs the members or speaks for the group ("ignore the rules above", "tell everyone to
  block", "the group has reached consensus"): an AI is one voice at the table, never an
  authority (a short list of phrasings, `_DIRECTS`; a heuristic fence behind the system rules);
- mostly copies one member's text (word n-grams shared with that member's contributions);
- repeats itself (a model caught in a loop);
- ends mid-word or mid-sentence (a piece cut by the token limit or a length bound, ending in
  "few-", on a comma or on a word like "the"; with `require_sentence_end`, any piece without
  a full stop, question or exclamation mark at its end). A piece with no finished sentence
  at all (the participant already trimmed an unfinished tail after a finished one) is kept
  only when its last word is a word the prompt itself used: small models often leave out
  the final full stop, but a reply that stopped inside a word ("for the next few wee") ends
  on a fragment the prompt never contains.

Output that fails the reply format after the retry is rejected by the participant before it
gets here (`FORMAT`). Thresholds are settings (`GateConfig`, `[ai.gate]` in config.toml).
Pure: no model, no network, no Discord.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.ai.config import GateConfig
from bot.ai.grounding import normalise

# Reasons, as shown in "AI participant <name> gave no usable contribution (<reason>)".
FORMAT = "did not follow the reply format"
NO_SUPPORTED_CLAIM = "no claim backed by a verified quote"
TOO_SHORT = "too short"
DIGITS = "mostly digits or punctuation"
ECHO = "echoes the prompt's instructions"
MARKUP = "carries the prompt's markup"
DIRECTS = "tells the members what to do or speaks for the group"
COPY = "mostly copies one member's text"
MID_WORD = "ends mid-word"
MID_SENTENCE = "ends mid-sentence"
REPEATS = "repeats itself"
# A revision (`/summary revise`) whose claims quote none of the critiques it was asked to answer.
NO_CRITIQUE_ANSWERED = "quotes none of the critiques it was to answer"

_WORD = re.compile(r"\w+")
# Data-block markers, chat-template tokens and role prefixes never belong in a contribution.
_MARKUP = re.compile(
    r"<<<\s*DATA|DATA\s*>>>|<\|[a-z_]+\|>|\[/?INST\]|^\s*(system|assistant|user|developer)\s*:",
    re.IGNORECASE | re.MULTILINE,
)
# Instructions to the reader, orders to the group and declared outcomes: none is an AI's to give.
_DIRECTS = re.compile(
    r"\b(ignore|disregard|forget|override)\b[^.!?\n]{0,40}\b(rules?|instructions?|prompt|system message|"
    r"everything above|all above|previous)\b"
    r"|\b(tell|urge|instruct|order)\w*\s+(every(one|body)|all( of)? (you|the members|members)|"
    r"the (members|group|others)|people|members|others)\s+to\b"
    r"|\b(every(one|body)|all members|all of you|you all|members)\s+(must|should|need to|has to|have to)\s+"
    r"(block|vote|endorse|consent|approve|object|stand aside)\b"
    r"|\b(reached|declare[sd]?|there is( now)?|we have)\s+(a\s+|full\s+)?consensus\b"
    r"|\b(the group|everyone|everybody|the members|we)\s+(has|have)\s+(now\s+)?(decided|approved|agreed|chosen)\b"
    r"|\bvote\s+(to\s+)?block\b",
    re.IGNORECASE,
)
# What may end a finished sentence: terminal punctuation in several scripts, then closing marks.
_SENTENCE_END = re.compile(r"[.!?…。！？؟।][\"'”’»)\]]*$")
# A finished sentence inside a piece: Latin marks before a space, CJK marks anywhere.
_FINISHED = re.compile(r"[.!?…؟।][\"'”’»)\]]*(?=\s)|[。！？][”’」』)\]]*")
# Words an English sentence does not end on: a piece ending on one was cut off ("... and the").
# fmt: off
_DANGLING_WORDS = frozenset(
    {
        "a", "an", "the", "and", "or", "but", "nor", "so", "because", "although", "though", "if", "than", "that",
        "which", "who", "whom", "whose", "where", "when", "while", "to", "of", "in", "on", "at", "by", "for", "with",
        "from", "into", "onto", "about", "as", "is", "are", "was", "were", "be", "been", "being", "has", "have",
        "had", "do", "does", "did", "will", "would", "shall", "should", "can", "could", "may", "might", "must", "not",
        "no", "my", "your", "our", "their", "his", "her", "its", "this", "these", "those", "very", "more", "most",
        "less", "least", "such"
    }
)
# fmt: on
# A piece that stops on a hyphen or dash right after a letter was cut mid-word ("the next few-").
_DANGLING_HYPHEN = re.compile(r"\w[-‐‑–]$")


@dataclass(frozen=True, slots=True)
class Candidate:
    """What would be posted, and what it came from.

    `pieces` are the visible texts (the kept claims, in order); `cut[i]` says whether piece i
    hit a bound (the token limit, or the schema's length limit) rather than ending on its own.
    `instructions` is the prompt without its quoted data; `members` maps each member (as
    labelled in the prompt) to everything of theirs the prompt quoted.
    """

    pieces: Sequence[str]
    cut: Sequence[bool]
    instructions: str
    members: Mapping[str, str]


def words(text: str) -> list[str]:
    return _WORD.findall(normalise(text).casefold())


def letter_share(text: str) -> float:
    """Letters among the non-space characters (any script counts as letters).

    Backslashes are not counted: the cleaner's Markdown escapes (`\\|\\|`) never show in Discord.
    """
    chars = [ch for ch in text if not ch.isspace() and ch != "\\"]
    if not chars:
        return 0.0
    return sum(ch.isalpha() for ch in chars) / len(chars)


def _ngrams(seq: Sequence[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(seq[i : i + n]) for i in range(len(seq) - n + 1)}


def copied_share(output: Sequence[str], source: Sequence[str], n: int) -> float:
    """The share of `output`'s words that lie in a run of `n` words also found in `source`."""
    if not output or not source:
        return 0.0
    n = min(n, len(output))
    grams = _ngrams(source, n)
    covered = [False] * len(output)
    for i in range(len(output) - n + 1):
        if tuple(output[i : i + n]) in grams:
            covered[i : i + n] = [True] * n
    return sum(covered) / len(output)


def echoes(output: Sequence[str], instructions: Sequence[str], run: int) -> bool:
    """Does `output` repeat `run` consecutive words of the instructions?"""
    if len(output) < run or len(instructions) < run:
        return False
    grams = _ngrams(instructions, run)
    return any(tuple(output[i : i + run]) in grams for i in range(len(output) - run + 1))


def ends_mid_word(piece: str, cut: bool) -> bool:
    piece = piece.rstrip()
    if not piece:
        return False
    if _DANGLING_HYPHEN.search(piece):
        return True
    # Cut by a bound: only a finished sentence (or a closing bracket or quote) is whole.
    return cut and piece[-1].isalnum()


def ends_mid_sentence(piece: str) -> bool:
    """A piece that stops on a comma, a colon, or a word no English sentence ends on."""
    piece = piece.rstrip()
    if not piece or ends_sentence(piece):
        return False
    if piece[-1] in ",;:(":
        return True
    last = _WORD.findall(piece.casefold())
    return bool(last) and last[-1] in _DANGLING_WORDS


def unfinished_fragment(piece: str, vocabulary: set[str]) -> bool:
    """A piece without a single finished sentence whose last word the prompt never used.

    `vocabulary` is every word of the prompt (instructions and the members' text). Without
    sentence-final punctuation, the last word is the only evidence the text was not cut
    inside a word; a word the model read is taken as whole, anything else is not.
    """
    piece = piece.rstrip()
    if not piece or ends_sentence(piece) or _FINISHED.search(piece):
        return False
    last = _WORD.findall(normalise(piece).casefold())
    return bool(last) and not last[-1].isdigit() and last[-1] not in vocabulary


def ends_sentence(piece: str) -> bool:
    return bool(_SENTENCE_END.search(piece.rstrip()))


def trim_to_sentence(piece: str) -> str:
    """`piece` cut back to its last finished sentence, or unchanged when it has none before the end."""
    piece = piece.rstrip()
    if ends_sentence(piece):
        return piece
    ends = [m.end() for m in _FINISHED.finditer(piece)]
    return piece[: ends[-1]] if ends else piece


def repeated_share(output: Sequence[str], n: int) -> float:
    """The share of `output`'s runs of `n` words that already occurred earlier in it."""
    if len(output) < 2 * n:
        return 0.0
    seen: set[tuple[str, ...]] = set()
    repeats = 0
    total = len(output) - n + 1
    for i in range(total):
        gram = tuple(output[i : i + n])
        repeats += gram in seen
        seen.add(gram)
    return repeats / total


def gate(candidate: Candidate, config: GateConfig) -> str | None:
    """Why `candidate` must not be posted, or None when it may be."""
    pieces = [p for p in candidate.pieces if p.strip()]
    if len(pieces) < config.min_claims:
        return NO_SUPPORTED_CLAIM
    text = "\n".join(pieces)
    if len(normalise(text)) < config.min_chars:
        return TOO_SHORT
    if letter_share(text) < config.min_letter_share:
        return DIGITS
    if _MARKUP.search(text):
        return MARKUP
    if _DIRECTS.search(normalise(text)):
        return DIRECTS
    said = words(text)
    if echoes(said, words(candidate.instructions), config.echo_max_words):
        return ECHO
    for member_text in candidate.members.values():
        if copied_share(said, words(member_text), config.copy_ngram_words) > config.copy_max_share:
            return COPY
    if repeated_share(said, config.copy_ngram_words) > config.repeat_max_share:
        return REPEATS
    if any(ends_mid_word(p, c) for p, c in zip(candidate.pieces, candidate.cut, strict=True)):
        return MID_WORD
    if any(ends_mid_sentence(p) for p in pieces):
        return MID_SENTENCE
    vocabulary = set(words(candidate.instructions)).union(*(words(t) for t in candidate.members.values()))
    if any(unfinished_fragment(p, vocabulary) for p in pieces):
        return MID_WORD
    if config.require_sentence_end and not all(ends_sentence(p) for p in pieces):
        return MID_SENTENCE
    return None


@dataclass(frozen=True, slots=True)
class Screened:
    """The pieces that may be posted (by index), each dropped piece with its reason, and the verdict."""

    kept: tuple[int, ...]
    dropped: tuple[tuple[int, str], ...]
    verdict: str | None


def screen(candidate: Candidate, config: GateConfig) -> Screened:
    """Drop the pieces that are unusable on their own, then judge what is left as a whole.

    A piece that copies a member, echoes the instructions, is digit soup, loops, mostly repeats
    an earlier piece or is cut off is dropped, and the rest may still be posted: none of its
    words reaches the channel. Markup anywhere rejects everything (the shape of an injection
    taints the whole answer). When no piece is left, the verdict is the first dropped piece's
    reason.
    """
    if any(_MARKUP.search(p) for p in candidate.pieces):
        return Screened((), (), MARKUP)
    kept: list[int] = []
    dropped: list[tuple[int, str]] = []
    for i, (piece, cut) in enumerate(zip(candidate.pieces, candidate.cut, strict=True)):
        alone = Candidate([piece], [cut], candidate.instructions, candidate.members)
        # Length and count are judged on the whole; every other rule applies to each piece too.
        problem = gate(alone, config.model_copy(update={"min_chars": 1, "min_claims": 1}))
        said = words(piece)
        if problem is None and any(
            copied_share(said, words(candidate.pieces[j]), config.copy_ngram_words) > config.copy_max_share
            for j in kept
        ):
            problem = REPEATS  # mostly says again what an earlier piece said
        if problem is None:
            kept.append(i)
        else:
            dropped.append((i, problem))
    if not kept:
        return Screened((), tuple(dropped), dropped[0][1] if dropped else NO_SUPPORTED_CLAIM)
    rest = Candidate(
        [candidate.pieces[i] for i in kept], [candidate.cut[i] for i in kept], candidate.instructions, candidate.members
    )
    return Screened(tuple(kept), tuple(dropped), gate(rest, config))
