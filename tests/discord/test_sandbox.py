"""The offline sandbox: it starts, serves a page a browser renders, keeps its data, and shows
what the bot says in the background."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import discord
import pytest

from bot.config import Settings
from bot.sandbox import BOT_NAME, DEMO_OPEN_QUESTION, DEMO_SEALED_QUESTION, HISTORY_FILE, open_sandbox, run_demo
from tests.chromium import chromium


@pytest.fixture
def sandbox_settings(tmp_path: Path) -> Settings:
    return Settings.load(tmp_path / "no-config.toml", read_env=False, ai={"enabled": False})


async def _chromium(tmp_path: Path, *args: str) -> bytes:
    return await chromium(tmp_path / "chromium-profile", *args)


async def test_the_sandbox_page_renders_the_channel_and_what_the_bot_said(
    tmp_path: Path, sandbox_settings: Settings
) -> None:
    async with open_sandbox(sandbox_settings, data_dir=tmp_path / "data") as sandbox:
        async with sandbox.turn:
            shown = await sandbox.moderator.slash(sandbox.deliberations, "roundtable setup")
            assert shown.response is not None
            started = await sandbox.moderator.slash(
                sandbox.deliberations, "deliberation start", question="Should we meet on Fridays?", template="quick"
            )
            assert started.followups or started.response
            stated = await sandbox.members["Ada"].slash(
                sandbox.deliberations, "position", stance="Support", reasoning="Fridays suit most of us."
            )
            assert stated.response is not None
            await sandbox.preview.refresh()

        screenshot = tmp_path / "sandbox.png"
        # Tall enough to show the guide, the agenda and Ada's position in one capture.
        await _chromium(tmp_path, f"--screenshot={screenshot}", "--window-size=1280,2200", sandbox.url)
        dom = (await _chromium(tmp_path, "--dump-dom", sandbox.url)).decode()

    assert screenshot.stat().st_size > 10_000
    assert "deliberations" in dom
    assert "Welcome to the Roundtable sandbox" in dom
    # The bot's answer, shown to the Moderator the page is viewing as.
    assert "Roundtable settings" in dom
    assert "@Moderators" in dom
    for name in ("Moderator", "Ada", "Grace", "Linus"):
        assert name in dom
    # The deliberation runs in the channel the page shows: its agenda, buttons and Ada's position.
    assert "Deliberation #1" in dom
    assert "Should we meet on Fridays?" in dom
    assert "State position" in dom
    assert "Remind me" in dom
    assert "Position #1: Support" in dom
    assert "Fridays suit most of us." in dom


async def test_the_sandbox_keeps_its_data_between_sessions(tmp_path: Path, sandbox_settings: Settings) -> None:
    data = tmp_path / "data"
    async with open_sandbox(sandbox_settings, data_dir=data) as sandbox:
        first_guild = sandbox.guild.id
        first_role = sandbox.moderators.id
        async with sandbox.turn:
            await sandbox.moderator.slash(sandbox.deliberations, "roundtable setup", ai=True)
        first_time = sandbox.env.now()

    async with open_sandbox(sandbox_settings, data_dir=data) as sandbox:
        # The same world is rebuilt, so stored ids still mean the same things.
        assert sandbox.guild.id == first_guild
        assert sandbox.moderators.id == first_role
        stored = await sandbox.bot.roundtable.guild_settings(sandbox.guild.id)
        assert stored.moderator_role_id == first_role
        assert stored.ai_enabled is True
        assert sandbox.env.now() >= first_time
    assert (data / "roundtable.sqlite3").exists()


async def test_background_output_reaches_an_open_page(tmp_path: Path, sandbox_settings: Settings) -> None:
    async with open_sandbox(sandbox_settings, data_dir=tmp_path / "data") as sandbox:
        page = _PageClient(sandbox.url)
        async with aiohttp.ClientSession() as http:
            opened = await page.open(http)
            revision = opened["publishedRevision"]

            # Output no page action caused, as when a deadline closes a round.
            channel = sandbox.bot.get_channel(sandbox.deliberations.id)
            assert isinstance(channel, discord.TextChannel)
            await channel.send("The positions round has closed.")

            for _ in range(40):
                state = await page.state(http)
                if state["publishedRevision"] > revision:
                    break
                await asyncio.sleep(0.1)
        contents = [message.get("content") for message in state["messages"].values()]
        assert "The positions round has closed." in contents


class _PageClient:
    """Talks to the Preview page's JSON endpoints the way its own script does."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.capability = parts.fragment
        self.context: str | None = None

    def _headers(self) -> dict[str, str]:
        headers = {"X-Simcord-Capability": self.capability}
        if self.context is not None:
            headers["X-Simcord-Context"] = self.context
        return headers

    async def open(self, http: aiohttp.ClientSession) -> dict[str, Any]:
        async with http.post(f"{self.origin}/api/pages", json={}, headers=self._headers()) as response:
            response.raise_for_status()
            payload: dict[str, Any] = await response.json()
        self.context = payload["context"]["id"]
        return payload

    async def state(self, http: aiohttp.ClientSession) -> dict[str, Any]:
        async with http.get(f"{self.origin}/api/state", headers=self._headers()) as response:
            response.raise_for_status()
            payload: dict[str, Any] = await response.json()
        return payload


async def test_the_demo_seals_one_deliberation_into_the_archive_and_leaves_one_in_dissent(
    tmp_path: Path, sandbox_settings: Settings
) -> None:
    async with open_sandbox(sandbox_settings, data_dir=tmp_path / "data") as sandbox:
        assert sandbox.bot.user is not None
        assert sandbox.bot.user.name == BOT_NAME
        assert len(sandbox.members) == 5
        summary = await run_demo(sandbox)
        assert "#1 is sealed" in summary

        # #archive holds the sealed record, as Discord would show it.
        posted = [e.title for m in sandbox.archive.history() for e in m.embeds]
        assert posted == ["Decision record #1: Should we meet on Fridays?"]
        # The other deliberation waits in its dissent round, with an objection raised.
        d = await sandbox.bot.roundtable.get(sandbox.guild.id, 2)
        assert d.question == DEMO_OPEN_QUESTION
        assert d.round.kind.value == "dissent"
        assert [o.what for o in d.open_objections()] == ["A code we cannot enforce fairly"]
        # The moderator, the page's first viewer, sees the dissent map.
        seen = [e.title for m in sandbox.deliberations.history(viewer=sandbox.moderator) for e in m.embeds]
        assert "Dissent map · deliberation #2" in seen

        # The guide links the web archive, where #archive's records can be read.
        guide = next(iter(sandbox.deliberations.history())).content
        assert sandbox.archive_url in guide
        assert str(sandbox.guild.id) in guide
        await sandbox.archive_site.wait_for_records(1, 30)
        index = (await _chromium(tmp_path, "--dump-dom", sandbox.archive_url)).decode()
        record = (await _chromium(tmp_path, "--dump-dom", sandbox.archive_url + "decision-1.html")).decode()
        page = (await _chromium(tmp_path, "--dump-dom", sandbox.url)).decode()
    assert DEMO_SEALED_QUESTION in index
    assert DEMO_OPEN_QUESTION not in index  # not sealed, not in the archive
    assert DEMO_SEALED_QUESTION in record
    assert "Consent with reservations or stand-asides" in record
    assert "I will join online when I can." in record  # Linus's stand-aside, verbatim
    assert "Dissent map" in page
    assert BOT_NAME in page


async def test_after_a_restart_the_open_deliberation_is_still_on_the_page(
    tmp_path: Path, sandbox_settings: Settings
) -> None:
    data = tmp_path / "data"
    async with open_sandbox(sandbox_settings, data_dir=data) as sandbox:
        assert sandbox.restored_messages == 0
        async with sandbox.turn:
            await sandbox.moderator.slash(sandbox.deliberations, "deliberation start", question="Fridays?")
            await sandbox.members["Ada"].slash(
                sandbox.deliberations, "position", stance="Yes", reasoning="Fridays suit most of us."
            )

    async with open_sandbox(sandbox_settings, data_dir=data) as sandbox:
        assert sandbox.restored_messages >= 2
        history = list(sandbox.deliberations.history())
        titles = [e.title for m in history for e in m.embeds]
        assert "Deliberation #1" in titles
        assert "Position #1: Yes" in titles
        # The guide is posted afresh, not piled up session after session.
        assert sum(1 for m in history if m.content.startswith("**Welcome to the Roundtable sandbox")) == 1
        # The restored agenda's buttons still work: Grace states her position from it.
        agenda = next(m for m in history if any(e.title == "Deliberation #1" for e in m.embeds))
        async with sandbox.turn:
            shown = await sandbox.members["Grace"].click(agenda, label="State position")
            assert shown.modal is not None
        page = (await _chromium(tmp_path, "--dump-dom", sandbox.url)).decode()
    assert "Deliberation #1" in page
    assert "Fridays suit most of us." in page


async def test_an_unreadable_saved_history_is_set_aside_and_the_sandbox_starts(
    tmp_path: Path, sandbox_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / HISTORY_FILE).write_bytes(b"\x80\x04 half a pickle")
    async with open_sandbox(sandbox_settings, data_dir=data) as sandbox:
        assert sandbox.restored_messages == 0
        assert any("could not be read" in r.getMessage() for r in caplog.records)
        async with sandbox.turn:
            shown = await sandbox.moderator.slash(sandbox.deliberations, "deliberation status")
        assert shown.response is not None
