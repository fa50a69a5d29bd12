"""Bases for views, modals and dynamic items whose errors go through the one handler.

discord.py only logs exceptions from component callbacks (a `DynamicItem`'s are swallowed
entirely), which would leave the member staring at "This interaction failed". These bases
route them to `handle_interaction_error` instead.
"""

from __future__ import annotations

from typing import Any

import discord

from bot.exts._shared.errors import handle_interaction_error


class RoundtableView(discord.ui.View):
    """A view whose callback errors get the same answer as slash-command errors.

    Persistent views (ones registered with `bot.add_view`) must pass `timeout=None`.
    """

    async def on_error(
        self, interaction: discord.Interaction[Any], error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        await handle_interaction_error(interaction, error, source=f"{type(self).__name__} view")


class RoundtableModal(discord.ui.Modal):
    """A modal whose submit errors get the same answer as slash-command errors.

    Wrap inputs in `discord.ui.Label` (`TextInput(label=...)` is deprecated in discord.py 2.7).
    """

    async def on_error(
        self, interaction: discord.Interaction[Any], error: Exception, item: discord.ui.Item[Any] | None = None
    ) -> None:
        # discord.py's `Modal.on_error(interaction, error)` drops the `item` of `BaseView.on_error`;
        # taking it as optional matches both, and a modal's submit failure has no item anyway.
        await handle_interaction_error(interaction, error, source=f"{type(self).__name__} modal")


class HandledDynamicItem:
    """Mixin for `discord.ui.DynamicItem` subclasses: implement `run`, not `callback`.

    Put it first so its `callback` wins::

        class PositionButton(HandledDynamicItem, discord.ui.DynamicItem[discord.ui.Button],
                             template=r"rt:pos:(?P<deliberation>[0-9]+)"):
            async def run(self, interaction): ...

    Keep `from_custom_id` to parsing the id: its errors are only logged by discord.py; look
    things up in `run`, where a missing deliberation becomes a proper refusal.
    """

    async def run(self, interaction: discord.Interaction[Any]) -> None:
        raise NotImplementedError

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        try:
            await self.run(interaction)
        except Exception as error:
            await handle_interaction_error(interaction, error, source=f"{type(self).__name__} item")
