"""AI turns survive the database going away mid-run (the real bot in SimCord, its own PostgreSQL server).

The model is a spec'd fake (tests/fake_ai.py); the server is crashed with `pg_ctl stop -m immediate`
and started again, without restarting the bot.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import discord
import pytest
import simcord
from discord_harness import Table

from bot.config import Settings
from tests.fake_ai import fake_panel
from tests.postgres import PostgresServer

SAGE_LABEL = "AI participant · Sage · smollm2-135m · not authoritative"


@pytest.fixture
def settings(tmp_path: Path, private_server: PostgresServer) -> Settings:
    return Settings.load(
        tmp_path / "no-config.toml",
        read_env=False,
        database={"url": private_server.create_database(), "path": tmp_path / "unused.sqlite3"},
        deliberation={"quorum": 2, "round_minutes": 60, "min_round_minutes": 10},
        ai={"participants": [{"name": "Sage", "model": "smollm2-135m"}]},
    )


@pytest.fixture
def ai_panel(settings: Settings) -> Any:
    return fake_panel(settings.ai, lambda request: ("Either", f"A {request.task} from Sage."))


async def _start(table: Table) -> simcord.ChannelHandle:
    result = await table.admin.slash(
        table.deliberations, "deliberation start", question="Adopt a code of conduct?", template="quick", ai=True
    )
    assert result.acknowledged
    return table.deliberations.threads[-1]


def _ai_posts(thread: simcord.ChannelHandle) -> list[discord.Message]:
    return [m for m in thread.history() if m.embeds and (m.embeds[0].author.name or "") == SAGE_LABEL]


async def test_ai_half_time_while_the_database_is_down_is_kept_and_the_ai_speaks_once_it_is_back(
    env: simcord.Env, table: Table, ai_panel: Any, private_server: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    thread = await _start(table)
    await table.grace.slash(thread, "deliberation join", **{"as": "participant"})
    await table.ada.slash(thread, "position", stance="Yes", reasoning="We need one.")
    await env.advance_time(29 * 60)
    assert ai_panel.requests == []

    private_server.crash()
    await env.advance_time(3 * 60)  # half-time passes while the server is down
    assert ai_panel.requests == []  # no model is asked for an answer that could not be stored
    assert _ai_posts(thread) == []

    private_server.resume()
    await env.advance_time(3 * 60)
    assert len(ai_panel.requests) == 1
    assert [m.embeds[0].description for m in _ai_posts(thread)] == ["A position from Sage."]
    assert not [r for r in caplog.records if r.exc_info and r.levelno >= logging.WARNING]


async def test_an_ai_answer_that_could_not_be_stored_is_asked_for_again_once_the_database_is_back(
    env: simcord.Env, table: Table, ai_panel: Any, private_server: PostgresServer
) -> None:
    answer = ai_panel.ask.side_effect

    async def database_goes_while_thinking(*args: Any, **kwargs: Any) -> Any:
        ai_panel.ask.side_effect = answer
        private_server.crash()
        return await answer(*args, **kwargs)

    ai_panel.ask.side_effect = database_goes_while_thinking
    thread = await _start(table)
    await table.ada.slash(thread, "position", stance="Yes", reasoning="We need one.")
    await table.grace.slash(thread, "position", stance="Yes", reasoning="A short one.")  # every member spoke
    assert len(ai_panel.requests) == 1
    assert _ai_posts(thread) == []

    private_server.resume()
    await env.advance_time(60)
    assert len(ai_panel.requests) == 2
    assert [m.embeds[0].description for m in _ai_posts(thread)] == ["A position from Sage."]
    await env.advance_time(40 * 60)  # past half-time: Sage has spoken, so it is not asked again
    assert len(ai_panel.requests) == 2
    assert len(_ai_posts(thread)) == 1
