"""AI participants: labelled, plural, local by default, never authoritative.

Plain data in (`AIRequest`), plain data out (`AIResult` or `AIUnavailable`); nothing here
imports Discord or the engine.
"""

from bot.ai.config import AIConfig, AIParticipantConfig
from bot.ai.labels import ai_label, unavailable_notice
from bot.ai.panel import AIPanel
from bot.ai.participant import AIParticipant, CircuitBreaker, ask_all
from bot.ai.types import AIRequest, AIResult, AIUnavailable, QuotedContribution

__all__ = [
    "AIConfig",
    "AIPanel",
    "AIParticipant",
    "AIParticipantConfig",
    "AIRequest",
    "AIResult",
    "AIUnavailable",
    "CircuitBreaker",
    "QuotedContribution",
    "ai_label",
    "ask_all",
    "unavailable_notice",
]
