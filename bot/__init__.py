"""Roundtable: structured deliberations on Discord.

`bot.create_bot` is resolved lazily so that importing `bot.engine` (or anything else under
`bot`) never imports discord.py: the engine must stay importable without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.app import create_bot

__all__ = ["create_bot"]


def __getattr__(name: str) -> Any:
    if name == "create_bot":
        from bot.app import create_bot

        return create_bot
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
