"""The CLI's promises to an operator: `archive build`, unknown guilds named, `run` failing in one
line when Discord is out of reach or refuses the token, and exit codes in every --help."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import discord.http
import pytest
from aiohttp import web

from bot.cli import EXIT_DISCORD, EXIT_USAGE, main
from bot.config import Settings
from bot.service import Roundtable
from tests.conftest import ManualClock
from tests.store.test_store import GUILD, OTHER_GUILD, sealed_quick
from tests.test_cli_ops import cli


@pytest.fixture
async def archive(settings: Settings, clock: ManualClock, db_path: Path) -> Path:
    rt = await Roundtable.open(settings, clock)
    await sealed_quick(rt, clock, GUILD, "Move to Fridays?")
    await sealed_quick(rt, clock, OTHER_GUILD, "Another server's question")
    await rt.close()
    return db_path


def test_archive_build_writes_a_site_that_opens_from_disk(archive: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    result = cli("archive", "build", "--guild", str(GUILD), "--out", str(out), "--db", str(archive), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (out / "index.html").as_uri() in result.stdout
    assert "Move to Fridays?" in (out / "index.html").read_text(encoding="utf-8")
    assert "Another server" not in (out / "index.html").read_text(encoding="utf-8")
    assert sorted(p.name for p in out.glob("decision-*.html")) == ["decision-1.html"]


@pytest.mark.parametrize(
    "command",
    [["export", "--format", "json"], ["archive", "build"]],
)
def test_an_unknown_guild_is_named_with_the_guilds_the_database_holds(
    command: list[str], archive: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = cli(*command, "--guild", "999", "--out", str(out), "--db", str(archive), cwd=tmp_path)
    assert result.returncode == EXIT_USAGE
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "guild 999" in lines[0]
    assert f"Guild ids it holds: {GUILD}, {OTHER_GUILD}" in lines[0]
    assert not out.exists()


def test_a_missing_database_is_one_line(tmp_path: Path) -> None:
    result = cli("archive", "build", "--guild", "1", "--out", "x", "--db", str(tmp_path / "none.sqlite3"), cwd=tmp_path)
    assert result.returncode == EXIT_USAGE
    assert result.stderr.strip() == f"No database at {tmp_path / 'none.sqlite3'}."


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["run"],
        ["verify"],
        ["export"],
        ["archive"],
        ["archive", "build"],
        ["archive", "serve"],
        ["sandbox"],
        ["polis", "analyze"],
        ["db", "upgrade"],
    ],
)
def test_every_help_lists_the_exit_codes(command: list[str], tmp_path: Path) -> None:
    result = cli(*command, "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "exit codes:" in result.stdout
    assert "3  Discord could not be reached" in result.stdout


# ---------------------------------------------------------------------- run, against a stand-in Discord


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[discord]\ntoken = "not-a-real-token"\n[database]\npath = "{tmp_path / "rt.sqlite3"}"\n'
        "[ai]\nenabled = false\n",
        encoding="utf-8",
    )
    return path


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def rejecting_discord() -> Iterator[str]:
    """Discord's API as it answers a revoked token: 401 on every route."""

    async def unauthorized(request: web.Request) -> web.Response:
        return web.json_response({"message": "401: Unauthorized", "code": 0}, status=401)

    ready = threading.Event()
    holder: dict[str, object] = {}

    def serve() -> None:
        loop = asyncio.new_event_loop()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", unauthorized)
        runner = web.AppRunner(app)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        holder["port"] = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        holder["loop"] = loop
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10)
    yield f"http://127.0.0.1:{holder['port']}/api/v10"
    loop = holder["loop"]
    assert isinstance(loop, asyncio.AbstractEventLoop)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def _run_bot(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["--config", str(config), "run"])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, [line for line in err.splitlines() if line.strip()]


def test_run_without_network_ends_in_one_clear_line(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Nothing listens there: the connection is refused, as with no network at all.
    monkeypatch.setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{_closed_port()}/api/v10")
    code, lines = _run_bot(config, capsys)
    assert code == EXIT_DISCORD
    assert lines[-1].startswith("Cannot reach Discord: ")
    assert lines[-1].endswith("Check the network and try again.")


def test_run_with_a_rejected_token_ends_in_one_clear_line(
    config: Path, rejecting_discord: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(discord.http.Route, "BASE", rejecting_discord)
    code, lines = _run_bot(config, capsys)
    assert code == EXIT_DISCORD
    assert lines[-1].startswith("Discord rejected the token")
    assert "not-a-real-token" not in "\n".join(lines)
