"""Adversary's test: `/ai speak` is stored before its answer; when Discord fails the answer (the
deferral), the AI's turn still runs and no apology says nothing was changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import simcord
from deliberation_helpers import configure, messages, open_deliberation
from discord_harness import Table

from bot.app import RoundtableBot
from bot.config import Settings
from bot.exts._shared.errors import APOLOGY
from tests.fake_ai import fake_panel


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.load(
        tmp_path / "no-config.toml",
        read_env=False,
        database={"path": tmp_path / "roundtable.sqlite3"},
        ai={"participants": [{"name": "Sage", "model": "smollm2-135m"}]},
    )


@pytest.fixture
def ai_panel(settings: Settings) -> Any:
    return fake_panel(settings.ai, lambda request: ("support", "Fridays let more people come."))


async def test_an_ai_turn_asked_for_runs_even_when_discord_fails_the_answer(
    env: simcord.Env, table: Table, bot: RoundtableBot
) -> None:
    await configure(table)
    opened = await open_deliberation(table)
    before = len(messages(opened.where, "Position #"))
    env.inject_error("POST", "/interactions/*/callback", status=500)  # the deferral

    asked = await table.moderator.slash(opened.where, "ai speak")

    replies = ([asked.response] if asked.response else []) + list(asked.followups)
    assert all(APOLOGY not in (r.content or "") for r in replies), [r.content for r in replies]
    await env.settle()
    positions = messages(opened.where, "Position #")
    assert len(positions) == before + 1
    assert positions[-1].embeds[0].author.name is not None
    assert "Sage" in positions[-1].embeds[0].author.name
