"""The visible labels of AI contributions: every AI message says it is AI and not authoritative.

`ai_label` is the engine's (one label wherever AI text is shown); the notice is the AI path's own.
"""

from __future__ import annotations

from bot.ai.clean import clean_line
from bot.engine.model import ai_label


def unavailable_notice(name: str) -> str:
    """The short notice posted when an AI participant could not contribute."""
    return f"AI participant {clean_line(name, 40) or 'unnamed'} is unavailable"


def rejected_notice(name: str, why: str) -> str:
    """The notice posted instead of an AI contribution that failed the gate (`bot.ai.gate`)."""
    return f"AI participant {clean_line(name, 40) or 'unnamed'} gave no usable contribution ({why})"


__all__ = ["ai_label", "rejected_notice", "unavailable_notice"]
