"""How much of a draft's text remains in the proposal a moderator put: "amended" or "replaced".

A moderator may adopt a draft and change its text. When most of the draft's words are still
there, the record says the draft was adopted with amendments; when little remains, crediting
the draft's author would be untrue, so the record says the moderator replaced it.

The measure is plain and explainable: the share of the draft's words (case-folded, counted with
their repeats) that also occur in the text put to the group. A word kept twice counts twice only
if the new text has it twice. Order is ignored on purpose: moving sentences around is an
amendment, not a replacement.
"""

from __future__ import annotations

import re
from collections import Counter

# Below this share of the draft's words left in the proposal, the draft was replaced, not
# amended. A third: an edit that keeps a third of the words still leans on the draft (and
# common words such as "the" or "we" alone rarely reach it), one that keeps less wrote anew.
REPLACED_BELOW = 1 / 3

_WORD = re.compile(r"\w+")


def words(text: str) -> Counter[str]:
    """The text's words, case-folded, with how often each occurs."""
    return Counter(w.casefold() for w in _WORD.findall(text))


def kept_share(draft: str, proposal: str) -> float:
    """The share (0 to 1) of the draft's words that remain in the proposal; 1 for a draft of no words."""
    before = words(draft)
    total = sum(before.values())
    if not total:
        return 1.0
    return sum((before & words(proposal)).values()) / total


def replaced(draft: str, proposal: str) -> bool:
    """Whether so little of the draft remains that the proposal is the moderator's own text."""
    return kept_share(draft, proposal) < REPLACED_BELOW


__all__ = ["REPLACED_BELOW", "kept_share", "replaced", "words"]
