"""`python -m bot sandbox`: the real bot in SimCord's in-memory Discord, in a local browser page.

No token and no network: `create_bot` builds the same bot `run` does, SimCord plays Discord,
and its Preview page (on 127.0.0.1) lets a newcomer act as a moderator or as any of five
members. The guild is rebuilt the same way every session (same ids), and the SQLite file under
`sandbox-data/` keeps deliberations from one session to the next; the channels' history is
kept beside it, so an open deliberation's agenda and buttons are still there after a restart.

What SimCord 3.2.1's Preview cannot do, and what this module does about it:
- It shows one channel and no threads, so deliberations run in the channel
  (`discord.run_in_channel`), and #archive, the other channel the bot writes to, is shown as
  the web archive (`bot.archive`) served beside the page and linked from the guide.
- It keeps its world in memory only, so the sandbox saves the guild's messages when it stops
  and puts them back before the bot starts (`_restore_history`).
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
import pickle
import signal
import webbrowser
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import simcord
from simcord import SetupError

from bot.app import RoundtableBot, create_bot
from bot.archive.serve import ArchiveServer
from bot.config import Settings

log = logging.getLogger(__name__)

DEFAULT_DATA_DIR = Path("sandbox-data")
# Pinned so that the guild (and with it every id created after it) is the same every session
# and the deliberations in the SQLite file still belong to it.
SANDBOX_GUILD_ID = 1_300_000_000_000_000_000
# Five members: opinion groups need at least four members who voted (bot.analysis.opinions).
MEMBER_NAMES = ("Ada", "Grace", "Linus", "Margaret", "Alan")
BOT_NAME = "Roundtable"
HISTORY_FILE = "channels.pickle"
# Bumped when what `_save_history` writes changes; another version is ignored, not misread.
HISTORY_FORMAT = 1
# Rounds in the sandbox last at most this long (real minutes at speed 1).
SANDBOX_ROUND_MINUTES = 60
# How often the driver moves the clock and looks for background output, in real seconds.
TICK_SECONDS = 0.5
# A slow interaction (an AI participant thinking) may take this long before SimCord gives up.
SETTLE_TIMEOUT_SECONDS = 30.0

GUIDE = """\
**Welcome to the Roundtable sandbox.** Everything here is simulated on your machine: no Discord, \
no token, no network. This server's id is `{guild_id}` (for `python -m bot export --guild {guild_id}`).

- You are viewing as **Moderator** (the *Moderators* role). Use **Viewing as** to act as **Ada**, \
**Grace**, **Linus**, **Margaret** or **Alan**. Type `/` in the message box to see the commands.
- Deliberations run in this channel. Sealed records also go to #archive, which this page cannot show \
(it shows one channel): read them in the web archive, {archive_url}
- Time runs {speed}; rounds last {round_minutes} minutes and the moderator may close them at any time \
with `/deliberation advance`. `/deliberation status` shows where things stand. Your data is kept in \
`{data_dir}` between sessions."""

GUIDE_WALKTHROUGH = """\
**A whole deliberation, the default `consent` process**
1. **Start** (as Moderator): `/deliberation start question:Should we meet on Fridays?` \
(add `anonymous:True` for aliases, `ai:False` to leave the AI participant out).
2. **Positions**: switch to each member and click **State position** on the agenda (or `/position`). \
Vote **Agree / Disagree / Pass** on each other's positions. The AI participant speaks once every \
member has (or at half-time), labelled as AI; `/ai speak` asks it now. Then `/deliberation advance`.
3. **Dissent**: **Raise objection** (or `/object`), **Add statement** (or `/statement`), keep voting; \
the moderator's **Mark addressed** asks why and tells the objection's author, who may **Reopen** it; \
the bot posts the dissent map (open objections, divisive statements, opinion groups once four \
members have voted); `/dissent` opens the moderator's panel. Then `/deliberation advance`.
4. **Synthesis**: `/summary draft` asks the AI participant for a cited draft; members **Critique** it, \
and `/summary revise` asks the AI to answer their critiques; the moderator puts a \
proposal to the group with `/summary adopt` (a draft, as is or amended) or `/summary propose` \
(written by hand). With two or more drafts, `/summary rank` lets members rank them privately \
(**Rank the drafts**); `/summary rank close:True` shows the group's preferred draft (Schulze), \
still only a proposal. Then `/deliberation advance`.
5. **Consent**: each member answers with the consent buttons (or `/consent`): endorse, reservations, \
stand aside or block (a block asks for a reason and becomes an objection). `/deliberation advance` \
seals the record: it is posted here and in #archive, `/decisions show` finds it again, and it \
appears in the web archive within seconds.
Shorter: `template:quick` (positions, consent) or `template:advice` (positions, synthesis, no decision)."""


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
    # The web archive of this guild, served beside the page (what #archive holds, browsable).
    archive_site: ArchiveServer
    # Messages put back from the last session (0 on a fresh data directory).
    restored_messages: int = 0

    @property
    def url(self) -> str:
        """The page's address. It carries the session's key: anyone with it can act."""
        return self.preview.url

    @property
    def archive_url(self) -> str:
        return self.archive_site.url


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
    # Its own database and its own signing key beside it: sandbox data is never signed with a real key.
    database = settings.database.model_copy(update={"path": data_dir / "roundtable.sqlite3", "signing_key": None})
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


def _save_history(env: simcord.Env, data_dir: Path, channels: list[simcord.ChannelHandle], guide_id: int) -> int:
    """Keep the channels' messages (and their attachments) for the next session.

    SimCord 3.2.1 (pinned) holds messages as plain dataclasses in `backend.messages`; they are
    pickled as they are. Ephemeral answers and the guide (posted afresh each session) are left out.
    """
    backend = env.backend
    saved: dict[int, list[Any]] = {}
    blobs: dict[str, bytes] = {}
    for channel in channels:
        kept = [
            m for m in backend.messages.get(channel.id, {}).values() if not m.is_ephemeral and m.webhook_id != guide_id
        ]
        saved[channel.id] = kept
        for message in kept:
            for attachment in message.attachments or ():
                url = attachment.get("url") if isinstance(attachment, dict) else None
                data = backend.cdn.get(url) if isinstance(url, str) else None
                if isinstance(url, str) and data is not None:
                    blobs[url] = data
    payload = {"format": HISTORY_FORMAT, "simcord": simcord.__version__, "channels": saved, "blobs": blobs}
    tmp = data_dir / f".{HISTORY_FILE}.tmp"
    tmp.write_bytes(pickle.dumps(payload))
    tmp.replace(data_dir / HISTORY_FILE)
    return sum(len(v) for v in saved.values())


def _restore_history(env: simcord.Env, data_dir: Path, channels: list[simcord.ChannelHandle]) -> int:
    """Put back the messages the last session kept, before the bot starts; returns how many.

    The file is the sandbox's own (written by `_save_history` into the user's data directory).
    A file from another SimCord version or format is ignored: the deliberations are in the
    database either way, only their messages would be missing.
    """
    path = data_dir / HISTORY_FILE
    try:
        payload = pickle.loads(path.read_bytes())  # our own file, in the user's data dir
    except FileNotFoundError:
        return 0
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError) as exc:
        log.warning("The sandbox's saved channel history could not be read (%s); starting without it.", exc)
        return 0
    if payload.get("format") != HISTORY_FORMAT or payload.get("simcord") != simcord.__version__:
        log.warning("The sandbox's saved channel history is from another version; starting without it.")
        return 0
    backend = env.backend
    restored = 0
    for channel in channels:
        messages = payload["channels"].get(channel.id, [])
        if not messages:
            continue
        store = backend.messages.setdefault(channel.id, {})
        for message in messages:
            store[message.id] = message
        backend.get_channel(channel.id).last_message_id = max(store)
        restored += len(messages)
    for url, data in payload.get("blobs", {}).items():
        backend.cdn._blobs[url] = data
    return restored


@contextlib.asynccontextmanager
async def open_sandbox(
    settings: Settings,
    *,
    data_dir: Path = DEFAULT_DATA_DIR,
    port: int = 0,
    archive_port: int = 0,
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

    # The bot's account is SimCord's "TestBot" unless renamed before it logs in.
    env.backend.bot_user.name = BOT_NAME
    # Built before the bot starts and before the clock moves, so every id is the same each time.
    guild = env.create_guild("Roundtable Sandbox", id=SANDBOX_GUILD_ID)
    moderators = guild.create_role("Moderators")
    deliberations = guild.create_text_channel("deliberations", topic="Deliberations run here in the sandbox")
    archive = guild.create_text_channel("archive", topic="Sealed decision records")
    moderator = guild.add_member(env.create_user("Moderator"), roles=[moderators])
    members = {name: guild.add_member(env.create_user(name)) for name in MEMBER_NAMES}
    guide = guild.create_webhook(deliberations, "Sandbox guide")
    channels = [deliberations, archive]
    restored = _restore_history(env, data_dir, channels)

    await env.start()
    site: ArchiveServer | None = None
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
        site = ArchiveServer(settings.database.path, guild.id, data_dir / "archive-site", port=archive_port)
        await site.start()
        pace = "in real time" if speed == 1 else f"{speed:g}x faster than real time"
        await guide.send(
            GUIDE.format(
                guild_id=guild.id,
                archive_url=site.url,
                speed=pace,
                data_dir=data_dir,
                round_minutes=settings.deliberation.round_minutes,
            )
        )
        await guide.send(GUIDE_WALKTHROUGH)

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
                    archive_site=site,
                    restored_messages=restored,
                )
            finally:
                await driver.stop()
    finally:
        if site is not None:
            await site.stop()
        with contextlib.suppress(OSError):
            _save_time(data_dir, env.now())
        try:
            _save_history(env, data_dir, channels, guide.id)
        except (OSError, pickle.PicklingError) as exc:
            log.warning("The sandbox's channel history could not be saved: %s", exc)
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
    demo: bool = False,
    on_ready: Callable[[Sandbox], Awaitable[None]] | None = None,
) -> None:
    """Run the sandbox until the page's "End preview session" or Ctrl-C."""
    if host not in ("127.0.0.1", "localhost"):
        # SimCord's Preview binds to loopback only; its URL is a credential.
        raise ValueError("the sandbox page is served on 127.0.0.1 only")
    async with open_sandbox(settings, data_dir=data_dir, port=port, speed=speed) as sandbox:
        if demo:
            print("Setting up the demo deliberations...", flush=True)
            print(await run_demo(sandbox), flush=True)
        print(f"Roundtable sandbox (guild id {sandbox.guild.id}): open {sandbox.url}", flush=True)
        print(f"The web archive (what #archive holds): {sandbox.archive_url}", flush=True)
        print("(The page's address holds this session's key. Press Ctrl-C to stop.)", flush=True)
        if open_browser:
            webbrowser.open(sandbox.url)
        if on_ready is not None:
            await on_ready(sandbox)
        await sandbox.preview.wait_closed()


def run_from_cli(args: argparse.Namespace) -> int:
    """`python -m bot sandbox` (the parser is in bot.cli, which loads this module only to run it)."""
    config = getattr(args, "config", None)
    settings = Settings.load(Path(config) if config else None)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The simulator's own chatter is not what a newcomer needs to read.
    for noisy in ("discord", "simcord", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    async def until_stopped() -> None:
        # Ctrl-C and a service manager's SIGTERM both stop the sandbox through its clean-up, which
        # saves the clock and the channels' history for the next session.
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        await run_sandbox(
            settings,
            port=args.port,
            open_browser=args.open_browser,
            data_dir=Path(args.data_dir),
            speed=args.speed,
            demo=args.demo,
        )

    with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
        asyncio.run(until_stopped())
    return 0


# ---------------------------------------------------------------------- the demo

DEMO_SEALED_QUESTION = "Should we meet on Fridays?"
DEMO_OPEN_QUESTION = "Should the project adopt a code of conduct?"
# How long the demo waits for the AI participant's position (the local model, on this machine).
DEMO_AI_WAIT_SECONDS = 180.0


def _message_with(channel: simcord.ChannelHandle, custom_id: str) -> Any:
    """The newest message in `channel` carrying a component with this custom id."""
    for message in reversed(list(channel.history())):
        for row in message.components:
            for item in getattr(row, "children", [row]):
                if getattr(item, "custom_id", None) == custom_id:
                    return message
    raise LookupError(f"no message in #{channel.name} has the component {custom_id}")


async def _vote(sandbox: Sandbox, deliberation_id: int, votes: dict[str, dict[int, str]]) -> None:
    """Members click Agree / Disagree / Pass on statements, as on the page (codes a, d, p)."""
    for name, choices in votes.items():
        for statement_id, code in choices.items():
            custom_id = f"rt:vote:{deliberation_id}:{statement_id}:{code}"
            message = _message_with(sandbox.deliberations, custom_id)
            await sandbox.members[name].click(message, custom_id=custom_id)


async def _open_id(sandbox: Sandbox) -> int:
    here = await sandbox.bot.roundtable.store.open_deliberation_at(sandbox.guild.id, sandbox.deliberations.id)
    if here is None:
        raise RuntimeError("the demo deliberation did not open")
    return here.id


async def run_demo(sandbox: Sandbox) -> str:
    """One sealed deliberation and one open in its dissent round, made by members on the page.

    Everything goes through slash commands and buttons as members would use them, so the
    channel shows the agenda, positions, record and dissent map the bot posted itself.
    """
    store = sandbox.bot.roundtable.store
    if await store.deliberations(sandbox.guild.id, status=None, limit=1):
        return "The demo was skipped: this data directory already holds deliberations (use a fresh --data-dir)."
    mod, m = sandbox.moderator, sandbox.members
    channel = sandbox.deliberations
    async with sandbox.turn:
        # 1. A quick deliberation, from start to sealed record.
        await mod.slash(channel, "deliberation start", question=DEMO_SEALED_QUESTION, template="quick", ai=False)
        sealed_id = await _open_id(sandbox)
        for name, stance, reasoning in (
            ("Ada", "Yes", "Fridays free the weekend for everyone."),
            ("Grace", "Yes", "More of us are free on Friday evenings."),
            ("Linus", "No", "I work late on Fridays."),
            ("Margaret", "Yes, online", "Fridays, with a call for those who cannot come."),
            ("Alan", "Unsure", "It depends on the room's price."),
        ):
            await m[name].slash(channel, "position", stance=stance, reasoning=reasoning)
        await mod.slash(channel, "deliberation advance")
        for name, choice, reason in (
            ("Ada", "endorse", None),
            ("Grace", "endorse", None),
            ("Margaret", "endorse", None),
            ("Linus", "stand_aside", "I will join online when I can."),
            ("Alan", "reservations", "Only if the room costs the same."),
        ):
            await m[name].slash(channel, "consent", choice=choice, **({"reason": reason} if reason else {}))
        await mod.slash(channel, "deliberation advance")

        # 2. The default consent process, left open in its dissent round.
        await mod.slash(channel, "deliberation start", question=DEMO_OPEN_QUESTION)
        open_id = await _open_id(sandbox)
        for name, stance, reasoning in (
            ("Ada", "Yes", "A short code makes clear how we treat each other."),
            ("Grace", "Yes", "Newcomers ask for one before they contribute."),
            ("Linus", "No", "Rules invite rules-lawyering; good moderation is enough."),
            ("Margaret", "Yes, with an enforcement team", "A code without people to enforce it is decoration."),
            ("Alan", "No", "We are too small for the overhead."),
        ):
            await m[name].slash(channel, "position", stance=stance, reasoning=reasoning)
    ai_note = await _wait_for_ai(sandbox, open_id)
    async with sandbox.turn:
        d = await sandbox.bot.roundtable.get(sandbox.guild.id, open_id)
        ids = {d.display_name(c.author): c.id for c in d.positions()}
        a, g, li, mg, al = (ids[n] for n in ("Ada", "Grace", "Linus", "Margaret", "Alan"))
        # Two camps and a bridge: enough for the opinion map to find groups.
        await _vote(
            sandbox,
            open_id,
            {
                "Ada": {g: "a", li: "d", mg: "a", al: "d"},
                "Grace": {a: "a", li: "d", mg: "a", al: "d"},
                "Linus": {a: "d", g: "d", mg: "p", al: "a"},
                "Margaret": {a: "a", g: "a", li: "d", al: "p"},
                "Alan": {a: "d", g: "d", li: "a", mg: "d"},
            },
        )
        await mod.slash(channel, "deliberation advance")
        await m["Linus"].slash(
            channel,
            "object",
            what="A code we cannot enforce fairly",
            why="Two moderators cannot handle reports from four hundred members.",
        )
        await m["Alan"].slash(channel, "statement", text="We should first ask members what problems they see.")
        # The moderator's dissent panel (shown to the Moderator, the page's first viewer): open
        # objections, who is silent, and the opinion map so far.
        await mod.slash(channel, "dissent")

    def panel_shown() -> bool:
        last = list(channel.history(viewer=mod))[-1:]
        return any(e.title and e.title.startswith("Dissent panel") for m in last for e in m.embeds)

    await _settle_until(sandbox, panel_shown, DEMO_AI_WAIT_SECONDS)
    async with sandbox.turn:
        await sandbox.preview.refresh()
    return (
        f"Demo ready: deliberation #{sealed_id} is sealed (see the web archive and #archive), and #{open_id} "
        f"is open in its dissent round with an objection and a dissent map. {ai_note}"
    )


async def _settle_until(sandbox: Sandbox, done: Callable[[], bool], seconds: float) -> bool:
    """Settle the simulator until `done()` (work on other threads finishes after settling)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        async with sandbox.turn:
            await sandbox.env.settle()
        if done():
            return True
        await asyncio.sleep(0.2)
    return False


async def _wait_for_ai(sandbox: Sandbox, deliberation_id: int) -> str:
    """Let the AI participant state its position (it speaks once every member has)."""
    d = await sandbox.bot.roundtable.get(sandbox.guild.id, deliberation_id)
    if not d.ai_seats:
        return "No AI participant is at the table (AI is off in the settings)."
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEMO_AI_WAIT_SECONDS
    while loop.time() < deadline:
        async with sandbox.turn:
            await sandbox.env.settle()
            d = await sandbox.bot.roundtable.get(sandbox.guild.id, deliberation_id)
        if any(c.by_ai for c in d.positions()) or d.ai_unavailable:
            break
        await asyncio.sleep(0.5)
    if any(c.by_ai for c in d.positions()):
        return "The AI participant stated its position, labelled as AI."
    return "The AI participant did not answer in time; it can be asked again with /ai speak."
