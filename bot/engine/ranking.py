"""A ranking of drafts: the moderator opens it, members rank the drafts privately, Schulze counts.

The rules live in `Deliberation` (`open_ranking`, `rank`, `close_ranking`); this is the state a
ranking keeps and the count it gives. A ballot ranks some or all of the ranking's drafts, best
first (a prefix ranking: drafts left out rank below those named, tied with each other); each
member's latest ballot counts while the ranking is open. Only members' ballots exist: AI
participants and observers are refused before anything is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.engine.schulze import SchulzeResult, schulze

# Every ranking fits one select menu per place and a custom id per step (Discord: 25 options,
# 100 characters); more than ten drafts is past what a member ranks with care anyway.
MAX_RANKED_DRAFTS = 10


@dataclass
class Ranking:
    number: int  # 1, 2, ... within its deliberation
    round_index: int
    drafts: tuple[int, ...]  # the drafts standing when it opened, in their numbers' order
    opened_by: str
    opened_at: datetime
    ballots: dict[str, tuple[int, ...]] = field(default_factory=dict)  # member -> latest ballot
    changes: int = 0  # ballots replaced by a later one of the same member
    closed_at: datetime | None = None
    closed_by: str = ""

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    def ballot_of(self, key: str) -> tuple[int, ...] | None:
        return self.ballots.get(key)

    def result(self) -> SchulzeResult[int]:
        """The Schulze count over the members' latest ballots (a tie is several winners)."""
        return schulze(self.drafts, list(self.ballots.values()))


def ordinal(place: int) -> str:
    """1st, 2nd, 3rd, 4th, ... 11th, 12th, 13th, 21st."""
    suffix = "th" if 10 <= place % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(place % 10, "th")
    return f"{place}{suffix}"


def drafts_list(ids: tuple[int, ...] | list[int]) -> str:
    """`#3`, `#3 and #5`, `#3, #5 and #8`."""
    shown = [f"#{i}" for i in ids]
    if len(shown) <= 1:
        return "".join(shown)
    return f"{', '.join(shown[:-1])} and {shown[-1]}"


def result_sentence(result: SchulzeResult[int]) -> str:
    """One sentence saying who the ballots prefer, ties said as ties."""
    if not result.ballots:
        return "No member ranked the drafts, so no draft is preferred."
    if result.tie:
        return f"Tie: drafts {drafts_list(list(result.winners))} are preferred equally; no draft beats the others."
    return f"The members' ballots prefer draft #{result.winners[0]}."


__all__ = ["MAX_RANKED_DRAFTS", "Ranking", "drafts_list", "ordinal", "result_sentence"]
