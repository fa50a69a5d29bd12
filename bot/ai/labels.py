"""The visible labels of AI contributions: every AI message says it is AI and not authoritative."""

from __future__ import annotations

from bot.ai.clean import clean_line


def ai_label(name: str, model: str) -> str:
    """ "AI participant · <name> · <model> · not authoritative", safe to post."""
    safe_name = clean_line(name, 40) or "unnamed"
    safe_model = clean_line(model, 80) or "unknown model"
    return f"AI participant · {safe_name} · {safe_model} · not authoritative"


def unavailable_notice(name: str) -> str:
    """The short notice posted when an AI participant could not contribute."""
    return f"AI participant {clean_line(name, 40) or 'unnamed'} is unavailable"


def rejected_notice(name: str, why: str) -> str:
    """The notice posted instead of an AI contribution that failed the gate (`bot.ai.gate`)."""
    return f"AI participant {clean_line(name, 40) or 'unnamed'} gave no usable contribution ({why})"
