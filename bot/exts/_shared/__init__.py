"""Discord helpers every feature uses: mention-safe sending, the one error handler, checks,
component bases and the deadline scheduler. Features stay thin by using these."""

from bot.exts._shared.checks import (
    NotModerator,
    has_moderator_rights,
    is_moderator,
    moderator_only,
    require_moderator,
)
from bot.exts._shared.components import HandledDynamicItem, RoundtableModal, RoundtableView
from bot.exts._shared.errors import APOLOGY, RoundtableTree, handle_interaction_error
from bot.exts._shared.messages import NO_MENTIONS, reply_error, safe_edit, safe_respond, safe_send
from bot.exts._shared.scheduler import DeadlineScheduler

__all__ = [
    "APOLOGY",
    "NO_MENTIONS",
    "DeadlineScheduler",
    "HandledDynamicItem",
    "NotModerator",
    "RoundtableModal",
    "RoundtableTree",
    "RoundtableView",
    "handle_interaction_error",
    "has_moderator_rights",
    "is_moderator",
    "moderator_only",
    "reply_error",
    "require_moderator",
    "safe_edit",
    "safe_respond",
    "safe_send",
]
