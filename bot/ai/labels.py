"""The visible labels of AI contributions: every AI message says it is AI and not authoritative.

`ai_label` is the engine's (one label wherever AI text is shown); the notice is the AI path's own.
"""

from __future__ import annotations

from bot.ai.clean import clean_line
from bot.engine.model import ai_label


def unavailable_notice(name: str) -> str:
    """The short notice posted when an AI participant could not contribute."""
    return f"AI participant {clean_line(name, 40) or 'unnamed'} is unavailable"


# How the record words a rejected answer: "gave no usable contribution (ends mid-word)".
REJECTED = "gave no usable contribution"


def rejected_notice(name: str, why: str) -> str:
    """The notice posted instead of an AI contribution that failed the gate (`bot.ai.gate`)."""
    return f"AI participant {clean_line(name, 40) or 'unnamed'} {REJECTED} ({why})"


def rejected_reason(why: str) -> str:
    """What the record keeps for a rejected answer (the gate's reason is safe to show)."""
    return f"{REJECTED} ({why})"


def notice_for(name: str, reason: str) -> str:
    """The public notice for a stored note: the gate's reason is shown, any other reason (it may
    name hosts or errors) stays in the logs."""
    prefix = f"{REJECTED} ("
    if reason.startswith(prefix) and reason.endswith(")"):
        return rejected_notice(name, reason[len(prefix) : -1])
    return unavailable_notice(name)


__all__ = ["REJECTED", "ai_label", "notice_for", "rejected_notice", "rejected_reason", "unavailable_notice"]
