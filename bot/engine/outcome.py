"""Outcome rules. Only human consent responses count; AI stances are reported beside, never in."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from bot.engine.model import ConsentChoice


class OutcomeKind(StrEnum):
    CONSENSUS = "consensus"
    CONSENT = "consent"  # consent, with reservations or stand-asides
    NO_CONSENSUS = "no_consensus"
    ADVICE = "advice"  # an advice process gathers views and decides nothing
    CANCELLED = "cancelled"


OUTCOME_LABELS: dict[OutcomeKind, str] = {
    OutcomeKind.CONSENSUS: "Consensus",
    OutcomeKind.CONSENT: "Consent with reservations or stand-asides",
    OutcomeKind.NO_CONSENSUS: "No consensus",
    OutcomeKind.ADVICE: "Advice gathered (no decision)",
    OutcomeKind.CANCELLED: "Cancelled",
}


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    reason: str
    tally: dict[ConsentChoice, int]
    responded: int
    quorum: int

    @property
    def label(self) -> str:
        return OUTCOME_LABELS[self.kind]

    @property
    def quorum_met(self) -> bool:
        return self.responded >= self.quorum


def decide_outcome(
    responses: Iterable[ConsentChoice], quorum: int, *, decides: bool = True, cancelled: bool = False
) -> Outcome:
    """The outcome of human consent responses (one per member, the latest)."""
    counts = Counter(responses)
    tally = {choice: counts.get(choice, 0) for choice in ConsentChoice}
    responded = sum(tally.values())
    if cancelled:
        return Outcome(OutcomeKind.CANCELLED, "The moderator cancelled the deliberation.", tally, responded, quorum)
    if not decides:
        return Outcome(
            OutcomeKind.ADVICE, "This process gathers advice; it makes no decision.", tally, responded, quorum
        )
    if responded < quorum:
        reason = f"Quorum missed: {responded} of the {quorum} members needed answered the consent check."
        return Outcome(OutcomeKind.NO_CONSENSUS, reason, tally, responded, quorum)
    blocks = tally[ConsentChoice.BLOCK]
    if blocks:
        reason = f"{blocks} block{'s' if blocks > 1 else ''} stand{'' if blocks > 1 else 's'}."
        return Outcome(OutcomeKind.NO_CONSENSUS, reason, tally, responded, quorum)
    if tally[ConsentChoice.ENDORSE] == responded:
        return Outcome(
            OutcomeKind.CONSENSUS, f"All {responded} members who answered endorse.", tally, responded, quorum
        )
    reservations, asides = tally[ConsentChoice.RESERVATIONS], tally[ConsentChoice.STAND_ASIDE]
    reason = f"No block; {reservations} with reservations, {asides} standing aside."
    return Outcome(OutcomeKind.CONSENT, reason, tally, responded, quorum)
