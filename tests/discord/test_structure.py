"""Every cog, walked: names, descriptions, persistent components."""

from __future__ import annotations

import re

import simcord
from discord import app_commands

from bot.app import RoundtableBot, walk_extensions

# The longest text an id-shaped group can match: a 64-bit snowflake has at most 20 digits.
_GROUP = re.compile(r"\(\?P<\w+>[^)]*\)")
MAX_ID_DIGITS = 20


def _leaves(bot: RoundtableBot) -> list[app_commands.Command[..., ..., object]]:
    return [c for c in bot.tree.walk_commands() if isinstance(c, app_commands.Command)]


async def test_every_extension_is_loaded(env: simcord.Env, bot: RoundtableBot) -> None:
    assert set(walk_extensions()) == set(bot.extensions)
    assert "bot.exts.setup" in bot.extensions


async def test_command_names_are_unique_and_everything_is_described(env: simcord.Env, bot: RoundtableBot) -> None:
    names = [c.qualified_name for c in _leaves(bot)]
    assert len(names) == len(set(names)), names
    roots = [c.name for c in bot.tree.get_commands()]
    assert len(roots) == len(set(roots)), roots
    for command in _leaves(bot):
        assert command.description, command.qualified_name
        assert command.description != "…", command.qualified_name
        for parameter in command.parameters:
            # discord.py's placeholder means a parameter without @describe.
            assert parameter.description not in ("", "…"), (
                f"/{command.qualified_name} {parameter.name} has no description"
            )
        # Guild-only: deliberations, settings and records all belong to a server.
        root = command.root_parent or command
        assert root.guild_only, f"/{command.qualified_name} is not guild_only"


async def test_persistent_views_never_time_out_and_ids_fit(env: simcord.Env, bot: RoundtableBot) -> None:
    for view in bot.persistent_views:
        assert view.timeout is None, type(view).__name__
        for item in view.walk_children():
            custom_id = getattr(item, "custom_id", None)
            if custom_id is not None:
                assert len(custom_id) <= 100, custom_id
                assert custom_id.startswith("rt:"), custom_id


async def test_dynamic_item_templates_are_namespaced_and_fit(env: simcord.Env, bot: RoundtableBot) -> None:
    store = bot._connection._view_store  # discord.py keeps registered DynamicItems only here
    for pattern in store._dynamic_items:
        assert pattern.pattern.startswith("rt:"), pattern.pattern
        widest = _GROUP.sub("9" * MAX_ID_DIGITS, pattern.pattern)
        assert len(widest) <= 100, pattern.pattern


def test_the_widest_id_rule_counts_each_group_as_a_snowflake() -> None:
    template = r"rt:pos:(?P<deliberation>[0-9]+):(?P<round>[0-9]+)"
    assert _GROUP.sub("9" * MAX_ID_DIGITS, template) == "rt:pos:" + "9" * 20 + ":" + "9" * 20


async def test_every_button_the_bot_posts_is_answered_by_a_registered_dynamic_item(
    env: simcord.Env, bot: RoundtableBot
) -> None:
    from bot.engine.model import ConsentChoice, Vote
    from bot.exts._shared import buttons

    widest = 10**MAX_ID_DIGITS - 1
    posted = [
        buttons.StatePositionButton(widest),
        buttons.RaiseObjectionButton(widest),
        buttons.AddStatementButton(widest),
        buttons.RemindButton(widest),
        *(buttons.VoteButton(widest, widest, v) for v in Vote),
        *(buttons.ObjectionButton(widest, widest, a) for a in buttons.ObjectionButton.ACTIONS),
        *(buttons.ConsentButton(widest, c) for c in ConsentChoice),
        buttons.RankDraftsButton(widest, widest),
        buttons.RankPlaceMenu.of(widest, widest, (widest,), []),
        buttons.KeepBallotButton.of(widest, widest, (widest,)),
    ]
    ids = [b.custom_id for b in posted]
    patterns = list(bot._connection._view_store._dynamic_items)
    for custom_id in ids:
        assert len(custom_id) <= 100, custom_id
        matching = [p for p in patterns if p.fullmatch(custom_id)]
        assert len(matching) == 1, custom_id
