"""Process templates: the ordered rounds a deliberation goes through before its record."""

from __future__ import annotations

from enum import StrEnum


class RoundKind(StrEnum):
    POSITIONS = "positions"
    DISSENT = "dissent"
    SYNTHESIS = "synthesis"
    CONSENT = "consent"


BUILTIN_TEMPLATES: dict[str, tuple[RoundKind, ...]] = {
    "consent": (RoundKind.POSITIONS, RoundKind.DISSENT, RoundKind.SYNTHESIS, RoundKind.CONSENT),
    "quick": (RoundKind.POSITIONS, RoundKind.CONSENT),
    # Advice gathers views and a synthesis; it decides nothing.
    "advice": (RoundKind.POSITIONS, RoundKind.SYNTHESIS),
}

ROUND_PURPOSE: dict[RoundKind, str] = {
    RoundKind.POSITIONS: "each participant states a position (stance and reasoning)",
    RoundKind.DISSENT: "raise objections, respond, and vote agree / disagree / pass on positions",
    RoundKind.SYNTHESIS: "AI participants draft, members critique, the moderator puts one proposal",
    RoundKind.CONSENT: "each member answers: endorse, reservations, stand aside or block",
}
