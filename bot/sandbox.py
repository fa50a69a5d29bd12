"""`python -m bot sandbox`: the real bot in SimCord's in-memory Discord, in a local browser page.

No token and no network: `create_bot` builds the same bot `run` does, SimCord plays Discord,
and its Preview page (on 127.0.0.1) lets a newcomer act as a moderator or as any of three
members. The guild is rebuilt the same way every session (same ids), and the SQLite file under
`sandbox-data/` keeps deliberations from one session to the next.

What SimCord 3.2.1's Preview cannot do, and what this module does about it:
- It shows one channel and no threads, so deliberations run in the channel
  (`discord.run_in_channel`).
- It republishes the page only after its own actions, so output the bot sends on its own (a
  deadline closing a round, an AI participant answering later) would stay hidden until a
  refresh. A driver task refreshes the page whenever the bot has made REST calls since the last
  publication.
- Its clock moves only when told, so the driver moves it with the wall clock (times `speed`),
  and the saved sandbox time carries over between sessions.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import webbrowser
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import simcord
from simcord import SetupError

from bot.app import RoundtableBot, create_bot
from bot.config import Settings

log = logging.getLogger(__name__)

DEFAULT_DATA_DIR = Path("sandbox-data")
# Pinned so that the guild (and with it every id created after it) is the same every session
# and the deliberations in the SQLite file still belong to it.
SANDBOX_GUILD_ID = 1_300_000_000_000_000_000
MEMBER_NAMES = ("Ada", "Grace", "Linus")
# Rounds in the sandbox last at most this long (real minutes at speed 1).
SANDBOX_ROUND_MINUTES = 60
# How often the driver moves the clock and looks for background output, in real seconds.
TICK_SECONDS = 0.5
# A slow interaction (an AI participant thinking) may take this long before SimCord gives up.
SETTLE_TIMEOUT_SECONDS = 30.0

GUIDE = """\
**Welcome to the Roundtable sandbox.** Everything here is simulated on your machine: no Discord, \
no token, no network.

- You are viewing as **Moderator** (the *Moderators* role, set as this server's moderator role). \
Use **Viewing as** to act as **Ada**, **Grace** or **Linus**.
- Type `/` in the message box to see the commands, e.g. `/deliberation start` or \
`/roundtable setup`.
- Deliberations run in this channel; sealed records also go to #archive.
- Try a whole deliberation: as Moderator, `/deliberation start question:Should we meet on Fridays? \
template:quick`. Switch to Ada, Grace and Linus and click **State position** (or `/position`), vote on \
each other's positions, then as Moderator `/deliberation advance` to the consent round, answer with the \
consent buttons, and `/deliberation advance` again to seal the record. `/deliberation status` shows \
where things stand.
- Time runs {speed}; rounds last {round_minutes} minutes and the moderator may close them at any time. \
Your data is kept in `{data_dir}` between sessions."""


@dataclass
class Sandbox:
    """A running sandbox: the simulated world, the bot in it and the page showing it."""

    env: simcord.Env
    bot: RoundtableBot
    preview: simcord.Preview
    guild: simcord.GuildHandle
    deliberations: simcord.ChannelHandle
    archive: simcord.ChannelHandle
    moderators: simcord.RoleHandle
    moderator: simcord.MemberActor
    members: dict[str, simcord.MemberActor]
    # SimCord runs one operation at a time: hold this to act in the world from code
    # (`async with sandbox.turn: await sandbox.moderator.slash(...)`).
    turn: asyncio.Lock

    @property
    def url(self) -> str:
        """The page's address. It carries the session's key: anyone with it can act."""
        return self.preview.url


class SimClock:
    """The simulator's time for the bot, which is built before its Env exists (sandbox, tests, benchmarks)."""

    def __init__(self) -> None:
        self.env: simcord.Env | None = None

    def __call__(self) -> datetime:
        if self.env is None:
            raise RuntimeError("the simulated clock was read before the simulator started")
        return self.env.now()


def sandbox_settings(settings: Settings, data_dir: Path) -> Settings:
    """The user's settings with the sandbox's storage, guild and in-channel deliberations."""
    discord_settings = settings.discord.model_copy(
        # Global sync is instant in the simulator, and a guild-only sync would leave the global
        # commands unsynced (the page warns about it).
        update={"run_in_channel": True, "dev_guild_ids": [], "token": None}
    )
    database = settings.database.model_copy(update={"path": data_dir / "roundtable.sqlite3"})
    # A newcomer runs a whole deliberation in one sitting: the moderator may close rounds at once.
    minutes = min(settings.deliberation.round_minutes, SANDBOX_ROUND_MINUTES)
    defaults = settings.deliberation.model_copy(update={"min_round_minutes": 0, "round_minutes": minutes})
    return settings.model_copy(update={"discord": discord_settings, "database": database, "deliberation": defaults})


class _Driver:
    """Moves the simulated clock with real time and refreshes the page after background output.

    SimCord allows one operation at a time; a page action arriving while the driver advances
    the clock would be rejected. So page actions and driver steps take turns on one lock.
    """

    def __init__(self, env: simcord.Env, preview: simcord.Preview, speed: float) -> None:
        self.env = env
        self.preview = preview
        self.speed = speed
        self.turn = asyncio.Lock()
        self.published_requests = len(env.http_requests)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._take_turns_with_page_actions()
        self._task = asyncio.create_task(self._run(), name="roundtable-sandbox-driver")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _take_turns_with_page_actions(self) -> None:
        # SimCord 3.2.1 (pinned) serves every page action through Preview._action; wrapping it
        # is the only way to order actions with the driver's own operations.
        action: Callable[[str | None, Any], Awaitable[dict[str, Any]]] = self.preview._action

        async def in_turn(context_id: str | None, body: Any) -> dict[str, Any]:
            async with self.turn:
                try:
                    return await action(context_id, body)
                finally:
                    # The action published its own results.
                    self.published_requests = len(self.env.http_requests)

        self.preview._action = in_turn  # type: ignore[method-assign]

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            await asyncio.sleep(TICK_SECONDS)
            async with self.turn:
                now = loop.time()
                await self.step((now - last) * self.speed)
                last = now

    async def step(self, seconds: float) -> None:
        """Advance the clock by `seconds` and republish the page if the bot said anything."""
        try:
            if seconds > 0:
                await self.env.advance_time(seconds)
            if len(self.env.http_requests) != self.published_requests:
                await self.preview.refresh()
                self.published_requests = len(self.env.http_requests)
        except (SetupError, TimeoutError) as exc:
            # The bot is still busy (SimCord keeps the progress made); try again next tick.
            log.debug("Sandbox driver step deferred: %s", exc)


def _load_saved_time(data_dir: Path) -> datetime | None:
    try:
        data = json.loads((data_dir / "clock.json").read_text(encoding="utf-8"))
        saved = datetime.fromisoformat(data["now"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return saved if saved.tzinfo else saved.replace(tzinfo=UTC)


def _prepare(data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)


def _save_time(data_dir: Path, now: datetime) -> None:
    (data_dir / "clock.json").write_text(json.dumps({"now": now.isoformat()}), encoding="utf-8")


@contextlib.asynccontextmanager
async def open_sandbox(
    settings: Settings,
    *,
    data_dir: Path = DEFAULT_DATA_DIR,
    port: int = 0,
    speed: float = 1.0,
) -> AsyncIterator[Sandbox]:
    """Start the bot in a simulated guild and serve the page; stop and close both on exit."""
    if speed <= 0:
        raise ValueError("speed must be positive")
    _prepare(data_dir)
    settings = sandbox_settings(settings, data_dir)
    clock = SimClock()
    bot = create_bot(settings, clock=clock)
    env = simcord.Env(bot, settle_timeout=SETTLE_TIMEOUT_SECONDS)
    clock.env = env
    bot.external_wait = env.external_wait

    # Built before the bot starts and before the clock moves, so every id is the same each time.
    guild = env.create_guild("Roundtable Sandbox", id=SANDBOX_GUILD_ID)
    moderators = guild.create_role("Moderators")
    deliberations = guild.create_text_channel("deliberations", topic="Deliberations run here in the sandbox")
    archive = guild.create_text_channel("archive", topic="Sealed decision records")
    moderator = guild.add_member(env.create_user("Moderator"), roles=[moderators])
    members = {name: guild.add_member(env.create_user(name)) for name in MEMBER_NAMES}
    guide = guild.create_webhook(deliberations, "Sandbox guide")

    await env.start()
    try:
        # Continue from the later of the wall clock and the last session's sandbox time, so
        # stored times never run backwards; deadlines that passed meanwhile fire now.
        target = max(datetime.now(UTC), _load_saved_time(data_dir) or env.now())
        if target > env.now():
            await env.advance_time((target - env.now()).total_seconds())
        current = await bot.roundtable.guild_settings(guild.id)
        if current.moderator_role_id is None and current.archive_channel_id is None:
            await bot.roundtable.configure_guild(
                guild.id,
                moderator.id,
                moderator_role_id=moderators.id,
                archive_channel_id=archive.id,
                ai_enabled=settings.ai.enabled,
                actor_name="Sandbox setup",
            )
        pace = "in real time" if speed == 1 else f"{speed:g}x faster than real time"
        await guide.send(
            GUIDE.format(speed=pace, data_dir=data_dir, round_minutes=settings.deliberation.round_minutes)
        )

        viewers = [moderator, *members.values()]
        async with env.preview(deliberations, viewers=viewers, layout="channel", port=port) as preview:
            driver = _Driver(env, preview, speed)
            driver.start()
            try:
                yield Sandbox(
                    env=env,
                    bot=bot,
                    preview=preview,
                    guild=guild,
                    deliberations=deliberations,
                    archive=archive,
                    moderators=moderators,
                    moderator=moderator,
                    members=members,
                    turn=driver.turn,
                )
            finally:
                await driver.stop()
    finally:
        with contextlib.suppress(OSError):
            _save_time(data_dir, env.now())
        await env.shutdown()
        # SimCord never calls bot.close(): close the storage the bot opened ourselves.
        await bot.close_roundtable()


async def run_sandbox(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    open_browser: bool = False,
    data_dir: Path = DEFAULT_DATA_DIR,
    speed: float = 1.0,
    on_ready: Callable[[Sandbox], Awaitable[None]] | None = None,
) -> None:
    """Run the sandbox until the page's "End preview session" or Ctrl-C."""
    if host not in ("127.0.0.1", "localhost"):
        # SimCord's Preview binds to loopback only; its URL is a credential.
        raise ValueError("the sandbox page is served on 127.0.0.1 only")
    async with open_sandbox(settings, data_dir=data_dir, port=port, speed=speed) as sandbox:
        print(f"Roundtable sandbox: open {sandbox.url}", flush=True)
        print("(The address holds this session's key. Press Ctrl-C to stop.)", flush=True)
        if open_browser:
            webbrowser.open(sandbox.url)
        if on_ready is not None:
            await on_ready(sandbox)
        await sandbox.preview.wait_closed()


def _cmd_sandbox(args: argparse.Namespace) -> int:
    config = getattr(args, "config", None)
    settings = Settings.load(Path(config) if config else None)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The simulator's own chatter is not what a newcomer needs to read.
    for noisy in ("discord", "simcord", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            run_sandbox(
                settings,
                port=args.port,
                open_browser=args.open_browser,
                data_dir=Path(args.data_dir),
                speed=args.speed,
            )
        )
    return 0


def add_command(subparsers: Any) -> None:
    """Register `sandbox` on the CLI's subparsers (`python -m bot sandbox`)."""
    parser = subparsers.add_parser(
        "sandbox",
        help="run the real bot offline in a simulated Discord, in your browser",
        description=(
            "Runs Roundtable inside SimCord's in-memory Discord and serves a page on 127.0.0.1 "
            "where you act as a moderator or as members. No token, no network."
        ),
    )
    parser.add_argument("--port", type=int, default=0, help="page port (default: any free port)")
    parser.add_argument("--open", dest="open_browser", action="store_true", help="open the page in a browser")
    parser.add_argument(
        "--data-dir",
        default=str(DEFAULT_DATA_DIR),
        help="where the sandbox keeps its database between sessions (default: sandbox-data)",
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="how much faster than real time the sandbox clock runs (e.g. 60: a minute a second)",
    )
    parser.set_defaults(func=_cmd_sandbox)
