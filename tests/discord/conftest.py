"""SimCord harness: the real bot from `create_bot`, a real SQLite file, the simulator's clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import discord
import pytest
import simcord
from discord_harness import ErrorLedger, Table

from bot.ai.panel import AIPanel
from bot.app import RoundtableBot, create_bot
from bot.config import Settings
from bot.exts._shared.errors import refusal_message
from bot.sandbox import SimClock
from tests import postgres


@pytest.fixture
def private_server() -> Iterator[postgres.PostgresServer]:
    """A PostgreSQL server of the test's own, to crash and start again (never the session's)."""
    with postgres.private_server() as server:
        yield server


@pytest.fixture
def database_url(database_url: str, request: pytest.FixtureRequest) -> str:
    """A test that asks for `private_server` has its bot store in a database of that server."""
    if "private_server" in request.fixturenames:
        server: postgres.PostgresServer = request.getfixturevalue("private_server")
        return server.create_database()
    return database_url


@pytest.fixture
def ledger() -> ErrorLedger:
    return ErrorLedger()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    # A file that does not exist: neither a developer's config.toml nor the environment leaks in.
    # `database_url`: this SQLite file, or a fresh PostgreSQL database where a test asks for it
    # (tests/discord/test_postgres_flows.py).
    return Settings.load(
        tmp_path / "no-config.toml",
        read_env=False,
        database={"url": database_url, "path": tmp_path / "roundtable.sqlite3"},
        ai={"enabled": False},
    )


@pytest.fixture
def sim_clock() -> SimClock:
    return SimClock()


@pytest.fixture
def ai_panel() -> AIPanel | None:
    """The AI panel the bot's service uses; None is production's. Test modules override this
    fixture with a spec'd fake (or a `ThreadedAIPanel` over the real embedded server)."""
    return None


@pytest.fixture
def make_bot(settings: Settings, sim_clock: SimClock, ai_panel: AIPanel | None) -> Callable[[], RoundtableBot]:
    """Build a bot exactly as production does; every bot built is closed at teardown."""
    built: list[RoundtableBot] = []

    def build() -> RoundtableBot:
        bot = create_bot(settings, clock=sim_clock, ai=ai_panel)
        built.append(bot)
        return bot

    build.built = built  # type: ignore[attr-defined]
    return build


@pytest.fixture
async def env(
    make_bot: Callable[[], RoundtableBot], sim_clock: SimClock, ledger: ErrorLedger
) -> AsyncIterator[simcord.Env]:
    bot = make_bot()
    env = simcord.Env(bot)
    sim_clock.env = env
    bot.external_wait = env.external_wait
    await env.start()
    try:
        yield env
    finally:
        await env.shutdown()
        # SimCord never calls bot.close(): close what each bot generation opened.
        for built in make_bot.built:  # type: ignore[attr-defined]
            await built.close_roundtable()
    # Refusals are answered by the error handler and are not bugs; anything else the bot
    # raised must have been taken (and asserted on) by the test.
    unexpected = [e for e in env.errors_since(ledger.taken) if refusal_message(e) is None]
    if unexpected:
        raise ExceptionGroup("the bot raised unexpected errors", unexpected)


def _acknowledged(env: simcord.Env) -> int:
    return getattr(env, "_roundtable_taken", 0)


@pytest.fixture
def take_errors(env: simcord.Env, ledger: ErrorLedger) -> Callable[[], list[BaseException]]:
    """Errors the bot raised since the last call; taken errors no longer fail the test."""

    def take() -> list[BaseException]:
        errors = list(env.errors_since(ledger.taken))
        ledger.taken = env.error_cursor
        return errors

    return take


@pytest.fixture
def restart(env: simcord.Env, make_bot: Callable[[], RoundtableBot]) -> Callable[[], Awaitable[RoundtableBot]]:
    """Restart as a deploy would: the old process's storage closes, a new bot starts."""

    async def do_restart() -> RoundtableBot:
        await env.settle()
        old = env.bot
        assert isinstance(old, RoundtableBot)
        await old.close_roundtable()
        new = make_bot()
        new.external_wait = env.external_wait
        await env.restart_bot(new)
        return new

    return do_restart


@pytest.fixture
def table(env: simcord.Env) -> Table:
    guild = env.create_guild("Roundtable Test")
    moderators = guild.create_role("Moderators")
    admins = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    return Table(
        guild=guild,
        deliberations=guild.create_text_channel("deliberations"),
        archive=guild.create_text_channel("archive"),
        moderators=moderators,
        admin=guild.add_member(env.create_user("Admin"), roles=[admins]),
        moderator=guild.add_member(env.create_user("Moderator"), roles=[moderators]),
        ada=guild.add_member(env.create_user("Ada")),
        grace=guild.add_member(env.create_user("Grace")),
        linus=guild.add_member(env.create_user("Linus")),
    )


@pytest.fixture
def bot(env: simcord.Env) -> RoundtableBot:
    """The bot generation currently attached (changes after a restart)."""
    assert isinstance(env.bot, RoundtableBot)
    return env.bot
