"""The application service: the one place where the engine's decisions meet storage.

Every action goes the same way: load the deliberation (replayed from its events, then kept in
memory), let the engine decide, store the events and the state they change in one transaction,
and only then apply them in memory and answer. A refusal raises before anything is written.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, TypeVar

from bot.ai.panel import AIPanel
from bot.ai.participant import endpoint_host
from bot.ai.types import AIRequest, AIResult, AIUnavailable, QuotedContribution, Task
from bot.config import Settings
from bot.engine import errors
from bot.engine.deliberation import AIAsk, Deliberation
from bot.engine.events import (
    AIRequested,
    ConsentGiven,
    ContributionAdded,
    ContributionEdited,
    DeliberationCancelled,
    DeliberationOpened,
    DeliberationSealed,
    Event,
    ObjectionMoved,
    ObjectionRaised,
    RoundClosed,
    RoundExtended,
    RoundOpened,
    Voted,
    owed_posts,
)
from bot.engine.model import (
    Actor,
    AIParticipantSpec,
    ContributionKind,
    DeliberationSettings,
)
from bot.engine.record import compose_record, render_markdown, seal_with
from bot.store import GuildSettings, PendingPost, RecordSummary, Store, StoredRecord
from bot.store.backend import open_store
from bot.store.signing import Signer

if TYPE_CHECKING:
    from bot.store.pg import PgStore

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Decision = Callable[[Deliberation, datetime], list[Event]]


def system_clock() -> datetime:
    return datetime.now(UTC)


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()

CACHE_SIZE = 4096
# How many times an action refused because another process appended first is decided again.
CONFLICT_RETRIES = 2
_P = TypeVar("_P")


# What a change did to the process itself, in order: the Discord layer announces these.
Milestone = RoundOpened | RoundClosed | RoundExtended | DeliberationCancelled | DeliberationSealed
_MILESTONES = (RoundOpened, RoundClosed, RoundExtended, DeliberationCancelled, DeliberationSealed)


@dataclass(frozen=True)
class Change:
    """What an accepted action did: the deliberation after it, the events it recorded, and answers
    to what the Discord layer asks of them (so no feature reads an event's kind or payload)."""

    deliberation: Deliberation
    events: list[Event]
    chain_head: str = ""
    record: StoredRecord | None = None

    def _payloads(self, cls: type[_P]) -> list[_P]:
        return [e.payload for e in self.events if isinstance(e.payload, cls)]

    def added(self, kind: ContributionKind | None = None) -> list[int]:
        """Ids of the contributions (of `kind`, if given) and, without a kind, objections this change added."""
        ids = []
        for e in self.events:
            p = e.payload
            if (isinstance(p, ContributionAdded) and kind in (None, p.kind)) or (
                isinstance(p, ObjectionRaised) and kind is None
            ):
                ids.append(p.id)
        return ids

    def touched(self) -> list[int]:
        """Contributions and objections whose posts show something new: edited, voted on, moved."""
        ids: list[int] = []
        for p in (e.payload for e in self.events):
            if isinstance(p, ContributionEdited | ObjectionMoved):
                ids.append(p.id)
            elif isinstance(p, Voted):
                ids.append(p.statement)
        added = set(self.added())
        return [i for i in dict.fromkeys(ids) if i not in added]

    @property
    def edited(self) -> int | None:
        """The contribution this change edited, if any."""
        return next((p.id for p in self._payloads(ContributionEdited)), None)

    @property
    def vote(self) -> Voted | None:
        return next(iter(self._payloads(Voted)), None)

    @property
    def moved(self) -> ObjectionMoved | None:
        return next(iter(self._payloads(ObjectionMoved)), None)

    @property
    def consent(self) -> ConsentGiven | None:
        return next(iter(self._payloads(ConsentGiven)), None)

    @property
    def block_raised(self) -> bool:
        """A block opened an objection (its reason will be quoted in the record)."""
        return any(p.block for p in self._payloads(ObjectionRaised))

    @property
    def opened(self) -> bool:
        """The deliberation itself opened (its agenda announces the first round)."""
        return bool(self._payloads(DeliberationOpened))

    def milestones(self) -> list[Milestone]:
        """Rounds opened, closed or extended, and the deliberation cancelled or sealed, in order."""
        return [e.payload for e in self.events if isinstance(e.payload, _MILESTONES)]

    @property
    def rounds_closed(self) -> list[int]:
        return [p.round for p in self._payloads(RoundClosed)]

    @property
    def rounds_opened(self) -> list[int]:
        return [p.round for p in self._payloads(RoundOpened)]

    @property
    def deadline_moved(self) -> bool:
        """The current deadline may differ from the one scheduled before this change."""
        return bool(self.milestones())

    @property
    def sealed(self) -> bool:
        return bool(self._payloads(DeliberationSealed))

    @property
    def ai_requested(self) -> bool:
        """The moderator asked the AI participants to speak (that command starts their turn)."""
        return bool(self._payloads(AIRequested))


@dataclass(frozen=True)
class AITurn:
    """What the AI participants contributed when asked, and who was unavailable."""

    changes: list[Change] = field(default_factory=list)
    unavailable: list[AIUnavailable] = field(default_factory=list)


@dataclass
class _Entry:
    deliberation: Deliberation
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # The seq of the chain head `deliberation` was built to (its events so far): an append
    # states it, and the store refuses it if another process appended meanwhile.
    seq: int | None = None
    # Set when a store failed after the events were applied: reloaded before the next action.
    stale: bool = False


class Roundtable:
    """Deliberations for every guild the bot serves, over one store."""

    def __init__(
        self, settings: Settings, store: Store | PgStore, clock: Clock = system_clock, *, ai: AIPanel | None = None
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.ai = ai if ai is not None else AIPanel(settings.ai)
        self._ai_started = False
        self._ai_start_lock = asyncio.Lock()
        self._ai_busy: set[tuple[int, int, str]] = set()
        self._cache: OrderedDict[tuple[int, int], _Entry] = OrderedDict()
        self._loading: dict[tuple[int, int], asyncio.Lock] = {}
        self._threads: dict[tuple[int, int], int] = {}  # (guild, thread) -> its deliberation

    @classmethod
    async def open(cls, settings: Settings, clock: Clock | None = None, *, ai: AIPanel | None = None) -> Roundtable:
        signer = Signer.load_or_create(settings.database.signing_key_path)
        store = await open_store(settings.database.database_url, signer=signer)
        return cls(settings, store, clock or system_clock, ai=ai)

    async def close(self) -> None:
        if self._ai_started:
            await self.ai.aclose()
        await self.store.close()

    def now(self) -> datetime:
        value = self.clock()
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    # ------------------------------------------------------------------ guilds

    async def guild_settings(self, guild_id: int) -> GuildSettings:
        return await self.store.guild_settings(guild_id)

    async def configure_guild(
        self,
        guild_id: int,
        actor_id: int,
        *,
        moderator_role_id: int | _Unset | None = UNSET,
        archive_channel_id: int | _Unset | None = UNSET,
        ai_enabled: bool | _Unset = UNSET,
        actor_name: str = "",
    ) -> GuildSettings:
        current = await self.store.guild_settings(guild_id)
        updated = GuildSettings(
            guild_id,
            current.moderator_role_id if isinstance(moderator_role_id, _Unset) else moderator_role_id,
            current.archive_channel_id if isinstance(archive_channel_id, _Unset) else archive_channel_id,
            current.ai_enabled if isinstance(ai_enabled, _Unset) else ai_enabled,
        )
        await self.store.save_guild_settings(updated, Actor.human(actor_id, actor_name), self.now())
        return updated

    # ------------------------------------------------------------------ deliberations

    def ai_seats(self) -> list[AIParticipantSpec]:
        """The AI participants from the configuration, as they will be labelled."""
        return [
            AIParticipantSpec(p.name, p.model, endpoint_host(p.base_url), p.persona)
            for p in self.settings.ai.participants
        ]

    async def start(
        self,
        guild_id: int,
        channel_id: int | None,
        moderator: Actor,
        question: str,
        *,
        template: str | None = None,
        anonymous: bool | None = None,
        ai: bool | None = None,
        round_minutes: int | None = None,
        quorum: int | None = None,
        invited: Sequence[Actor] = (),
    ) -> Change:
        defaults = self.settings.deliberation
        templates = self.settings.templates_available()
        name = template or defaults.template
        if name not in templates:
            raise errors.InvalidValue(f"There is no process template called {name!r}. Try: {', '.join(templates)}.")
        guild = await self.store.guild_settings(guild_id)
        ai_on = self.settings.ai.enabled and guild.ai_enabled and (True if ai is None else ai)
        minutes = round_minutes if round_minutes is not None else defaults.round_minutes
        settings = DeliberationSettings(
            anonymous=defaults.anonymous if anonymous is None else anonymous,
            quorum=quorum if quorum is not None else defaults.quorum,
            round_minutes=minutes,
            min_round_minutes=min(defaults.min_round_minutes, minutes),
            ai_enabled=ai_on,
            reveal_aliases_to_moderator=defaults.reveal_aliases_to_moderator,
        )
        at = self.now()
        events = Deliberation.start(
            question=question,
            template=name,
            rounds=templates[name],
            settings=settings,
            moderator=moderator,
            ai_participants=self.ai_seats() if ai_on else [],
            at=at,
            invited=invited,
        )
        probe = Deliberation.from_events(0, guild_id, events)
        deliberation_id = await self.store.create_deliberation(
            guild_id,
            channel_id,
            events,
            question=probe.question,
            template=name,
            round_kind=probe.round.kind.value,
            deadline_at=probe.round.deadline,
            ai_due_at=_ai_due_at(probe, at),
            owed=owed_posts(events),
        )
        deliberation = Deliberation.from_events(deliberation_id, guild_id, events)
        self._remember(guild_id, deliberation).seq = len(events)
        log.info("deliberation %s opened in guild %s (%s)", deliberation_id, guild_id, name)
        return Change(deliberation, events)

    async def get(self, guild_id: int, deliberation_id: int) -> Deliberation:
        """The deliberation as stored. While an action on it is being stored (its events are
        applied before the append commits), this waits for the outcome, so an action the
        database then refuses is never shown."""
        entry = await self._entry(guild_id, deliberation_id)
        if entry.lock.locked():
            async with entry.lock:
                if entry.stale:
                    await self._reload(entry, guild_id, deliberation_id)
        return entry.deliberation

    async def act(self, guild_id: int, deliberation_id: int, decide: Decision) -> Change:
        """Decide, store, then apply. Nothing is written when the engine refuses.

        Another process may append to the same deliberation at the same moment (a rolling
        deploy, a shard moving): the store then refuses this append (compare-and-set on the chain
        head), and the action is decided again on the deliberation as now stored, up to
        `CONFLICT_RETRIES` times, before the member is told to try again.
        """
        for attempt in range(CONFLICT_RETRIES + 1):
            try:
                return await self._act_once(guild_id, deliberation_id, decide)
            except errors.ChangedMeanwhile:
                if attempt == CONFLICT_RETRIES:
                    raise
                log.info("deliberation %s changed in another process; deciding again", deliberation_id)
        raise AssertionError("unreachable")

    async def _act_once(self, guild_id: int, deliberation_id: int, decide: Decision) -> Change:
        entry = await self._entry(guild_id, deliberation_id)
        async with entry.lock:
            if entry.stale or entry.seq is None:
                await self._reload(entry, guild_id, deliberation_id)
            # Taken together: a load elsewhere may replace the entry's deliberation meanwhile.
            deliberation, seq = entry.deliberation, entry.seq
            at = self.now()
            events = decide(deliberation, at)
            if not events:
                raise errors.AlreadyRecorded("Nothing to change.")
            # Applying first lets the rows and the record be derived from the new state; if
            # storing fails, the entry is dropped so the next action replays what is on disk.
            deliberation.apply_all(events)
            try:
                touched = {
                    e.payload.id for e in events if isinstance(e.payload, ContributionAdded | ContributionEdited)
                }
                sealed = any(isinstance(e.payload, DeliberationSealed) for e in events)
                record = compose_record(deliberation) if sealed else None
                if record is not None:
                    events = [seal_with(e, record) if isinstance(e.payload, DeliberationSealed) else e for e in events]
                current = deliberation.round
                head = await self.store.append(
                    guild_id,
                    deliberation_id,
                    events,
                    status=deliberation.status.value,
                    round_kind=current.kind.value if deliberation.is_open else None,
                    deadline_at=current.deadline if deliberation.is_open else None,
                    ai_due_at=_ai_due_at(deliberation, at),
                    contributions=[deliberation.contributions[i] for i in sorted(touched)],
                    record=record,
                    owed=owed_posts(events),
                    markdown=render_markdown(record) if record is not None else "",
                    expect_seq=seq,
                )
            except BaseException:
                entry.stale = True  # an action waiting on this entry's lock reloads first
                self._cache.pop((guild_id, deliberation_id), None)
                raise
            if entry.deliberation is deliberation:
                entry.seq = (seq or 0) + len(events)
            else:
                entry.stale = True  # replaced by a load that may predate these events: reload first
        stored = await self.store.record(guild_id, deliberation_id) if record is not None else None
        return Change(deliberation, events, head, stored)

    async def close_due_round(self, guild_id: int, deliberation_id: int) -> Change | None:
        """Close the current round if its deadline has passed (the scheduler's call).

        Decided from the events as stored now, not from this process's cache: another process
        sharing the database (a rolling deploy, a shard moving) may have closed the round
        already, and then this one finds it closed (or the next round not yet due) and does nothing.
        """
        deliberation = await self.reload(guild_id, deliberation_id)

        def due(d: Deliberation, at: datetime) -> bool:
            return d.is_open and d.round.deadline is not None and at >= d.round.deadline

        if not due(deliberation, self.now()):
            return None
        return await self.act(
            guild_id,
            deliberation_id,
            lambda d, at: d.advance(Actor.system("deadline"), at) if due(d, at) else [],
        )

    async def reload(self, guild_id: int, deliberation_id: int) -> Deliberation:
        """The deliberation replayed from its stored events, replacing what this process cached."""
        entry = await self._entry(guild_id, deliberation_id)
        async with entry.lock:
            events = await self.store.load_events(guild_id, deliberation_id)
            entry.deliberation = Deliberation.from_events(deliberation_id, guild_id, events)
        return entry.deliberation

    def forget_guild(self, guild_id: int) -> None:
        """Drop a guild's deliberations from the cache (the bot left it, or its shard moved away)."""
        for key in [k for k, entry in self._cache.items() if k[0] == guild_id and not entry.lock.locked()]:
            del self._cache[key]
        for key in [k for k in self._threads if k[0] == guild_id]:
            del self._threads[key]

    async def deadlines(self, guild_id: int) -> list[tuple[int, datetime]]:
        """Open deliberations' current deadlines, for the scheduler on start."""
        rows = await self.store.deliberations(guild_id, status="open", limit=100_000)
        return [(row.id, row.deadline_at) for row in rows if row.deadline_at is not None]

    async def deadlines_in(self, guild_ids: Sequence[int]) -> dict[int, list[tuple[int, datetime]]]:
        """`deadlines` for several guilds at once (a start restores every guild it is in)."""
        return await self.store.open_deadlines(guild_ids)

    async def ai_due_times(self, guild_ids: Sequence[int]) -> dict[int, list[tuple[int, datetime]]]:
        """(deliberation, when) its AI participants may next be due to state positions, by guild.

        Stored with every action, so the half-time timers are restored without replaying a
        deliberation; when one fires, `Deliberation.ai_due` decides.
        """
        return await self.store.ai_due_times(guild_ids)

    # ------------------------------------------------------------------ where it runs in Discord

    async def require(self, guild_id: int, deliberation_id: int) -> None:
        """Refuse (NotFound) a deliberation that is not this guild's, as if it did not exist."""
        _require_id(deliberation_id)
        await self.store.deliberation(guild_id, deliberation_id)

    async def deliberation_here(self, guild_id: int, channel_id: int | None) -> int | None:
        """The open deliberation a thread runs, else the newest one run in this channel itself.

        A thread is made for one deliberation and never reused, so once found it is remembered
        while that deliberation stays open: a command in a thread then costs no query.
        """
        if channel_id is None:
            return None
        known = self._threads.get((guild_id, channel_id))
        if known is not None:
            if (await self.get(guild_id, known)).is_open:  # in memory once loaded
                return known
            self._threads.pop((guild_id, channel_id), None)
        found = await self.store.open_deliberation_at(guild_id, channel_id)
        if found is None:
            return None
        if found.in_thread:
            self._threads[(guild_id, channel_id)] = found.id
        return found.id

    async def place(self, guild_id: int, deliberation_id: int, *, channel_id: int, thread_id: int | None) -> None:
        """Where the deliberation runs in Discord (known only once its thread is made)."""
        await self.store.set_location(guild_id, deliberation_id, channel_id=channel_id, thread_id=thread_id)

    async def location(self, guild_id: int, deliberation_id: int) -> tuple[int | None, int | None]:
        """(channel it was opened from, its thread if it has one yet)."""
        row = await self.store.deliberation(guild_id, deliberation_id)
        return row.channel_id, row.thread_id

    async def channel_of(self, guild_id: int, deliberation_id: int) -> int | None:
        """The deliberation's thread, or its channel when it runs in the channel itself."""
        channel_id, thread_id = await self.location(guild_id, deliberation_id)
        return thread_id or channel_id

    async def remember_post(
        self, guild_id: int, deliberation_id: int, ref: str, channel_id: int, message_id: int
    ) -> None:
        """Where a post went (`ref` names what it shows), so later changes can edit it in place."""
        await self.store.save_post(guild_id, deliberation_id, ref, channel_id, message_id)

    async def post(self, guild_id: int, deliberation_id: int, ref: str) -> tuple[int, int] | None:
        """(channel, message) of a remembered post, or None if it was never posted."""
        return await self.store.post(guild_id, deliberation_id, ref)

    # ------------------------------------------------------------------ the outbox

    async def pending_posts(self, guild_id: int, deliberation_id: int) -> list[PendingPost]:
        """Posts the deliberation still owes Discord, oldest first (see `owed_posts`)."""
        return await self.store.pending_posts(guild_id, deliberation_id)

    async def owing(self, guild_ids: Sequence[int]) -> dict[int, list[int]]:
        """Deliberations of these guilds that still owe posts, by guild."""
        return await self.store.owing(guild_ids)

    async def post_delivered(
        self, guild_id: int, deliberation_id: int, ref: str, where: tuple[int, int] | None
    ) -> None:
        """An owed post reached Discord (`where`: channel and message), remembered under its ref."""
        await self.store.post_delivered(guild_id, deliberation_id, ref, self.now(), where)

    async def post_failed(
        self, guild_id: int, deliberation_id: int, ref: str, error: str, *, retry_at: datetime | None
    ) -> int:
        """An owed post failed: retried at `retry_at`, or given up when None. Returns its attempts."""
        return await self.store.post_failed(guild_id, deliberation_id, ref, error, retry_at=retry_at, at=self.now())

    # ------------------------------------------------------------------ the archive

    async def record(self, guild_id: int, deliberation_id: int) -> StoredRecord:
        return await self.store.record(guild_id, deliberation_id)

    async def list_records(self, guild_id: int, *, limit: int) -> list[RecordSummary]:
        """Sealed records, newest first."""
        return await self.store.list_records(guild_id, limit=limit)

    async def search_records(self, guild_id: int, query: str, *, limit: int) -> list[RecordSummary]:
        """Sealed records with every word of `query`, newest first."""
        return await self.store.search_records(guild_id, query, limit=limit)

    def all_records(self, guild_id: int) -> AsyncIterator[StoredRecord]:
        return self.store.all_records(guild_id)

    async def record_proof(self, stored: StoredRecord) -> dict[str, Any] | None:
        """A record's events, signed head and public key, to check it offline (None when anonymous)."""
        return await self.store.record_proof(stored)

    # ------------------------------------------------------------------ AI participants

    async def start_ai(self) -> None:
        """Start the AI participants (and the embedded model server) once, on first need."""
        async with self._ai_start_lock:
            if not self._ai_started:
                await self.ai.start()
                self._ai_started = True

    async def ai_turn(
        self,
        guild_id: int,
        deliberation_id: int,
        task: Task,
        *,
        names: Sequence[str] | None = None,
        target: int | None = None,
        on_ready: Callable[[Change], Awaitable[None]] | None = None,
    ) -> AITurn:
        """Ask the seated AI participants for `task` and store each answer as its own labelled contribution.

        For positions, an automatic turn (`names` None) asks those the engine says are due; the
        moderator's `/ai speak` names the seats still without a position, one that failed earlier
        included. Each participant's answer is stored, and its change handed to `on_ready`, as
        soon as that participant is done: the slowest holds back no one, and a failure in
        `on_ready` holds back no other. Whatever the models say enters through the same engine
        rules as anything else: a labelled contribution at most. An unavailable participant is
        noted (an owed post tells the members), unless the round it was asked in is over.
        """
        d = await self.get(guild_id, deliberation_id)
        at = self.now()
        seats = list(d.ai_seats) if names is None else [n for n in d.ai_seats if n in set(names)]
        if task == "position":
            due = set(d.ai_due(at) if names is None else d.ai_without_position())
            seats = [n for n in seats if n in due]
        elif task == "draft" and target is not None:  # a revision: only the seats due to revise that draft
            due = set(d.revisers(target))
            seats = [n for n in seats if n in due]
        seats = [n for n in seats if (guild_id, deliberation_id, n) not in self._ai_busy]
        if not seats or not self.ai.config.enabled:
            return AITurn()
        request = self._ai_request(d, task, target)
        asked_in = d.current
        busy = {(guild_id, deliberation_id, n) for n in seats}
        self._ai_busy |= busy
        turn = AITurn()
        try:
            await self.start_ai()
            async for result in self.ai.each(request, seats):
                change = await self._store_ai_answer(guild_id, deliberation_id, result, task, target, asked_in)
                self._ai_busy.discard((guild_id, deliberation_id, result.participant))
                if isinstance(result, AIUnavailable):
                    turn.unavailable.append(result)
                elif change is not None:
                    turn.changes.append(change)
                if change is None or on_ready is None:
                    continue
                try:
                    await on_ready(change)
                except Exception:
                    log.exception("AI participant %s: showing the answer failed", result.participant)
            return turn
        finally:
            self._ai_busy -= busy

    async def _store_ai_answer(
        self,
        guild_id: int,
        deliberation_id: int,
        result: AIResult | AIUnavailable,
        task: Task,
        target: int | None,
        asked_in: int,
    ) -> Change | None:
        """One participant's answer stored: its contribution, or the note that it gave nothing usable."""
        if isinstance(result, AIUnavailable):

            def note(d: Deliberation, at: datetime) -> list[Event]:
                if not d.is_open or d.current != asked_in:
                    raise errors.WrongRound("the round it was asked in is over")
                return d.note_ai_unavailable(result.participant, result.reason, at)

            decide: Decision = note
        else:

            def contribute(d: Deliberation, at: datetime) -> list[Event]:
                return _ai_contribution(d, result, task, target, at)

            decide = contribute
        try:
            return await self.act(guild_id, deliberation_id, decide)
        except errors.StorageUnavailable:
            raise  # not a refusal: the turn is retried once storage is back (bot/exts/ai)
        except errors.RoundtableError as refusal:
            # The round moved on while the model was thinking; its answer is not due any more.
            log.info("AI participant %s answer not stored: %s", result.participant, refusal)
            return None

    async def ask_ai(self, guild_id: int, deliberation_id: int, actor: Actor) -> tuple[AIAsk, Change | None]:
        """`/ai speak`: what asking the AI participants now means (the engine decides), with the
        moderator's request stored when it is new. The caller then starts the AI turn."""
        d = await self.get(guild_id, deliberation_id)
        ask = d.ask_ai(actor, self.now())
        if not ask.events:
            return ask, None
        return ask, await self.act(guild_id, deliberation_id, lambda d, at: d.ask_ai(actor, at).events)

    def _ai_request(self, d: Deliberation, task: Task, target: int | None) -> AIRequest:
        if task == "draft" and target is not None:
            return _revision_request(d, target)
        material, left_out = d.prompt_material()
        opted_out = {p.key for p in d.participants.values() if p.ai_opt_out}
        quoted = [
            QuotedContribution(c.id, c.kind.value, d.display_name(c.author), c.stance, c.text, by_ai=c.by_ai)
            for c in material
        ]
        if task != "position":
            quoted += [
                QuotedContribution(o.id, "objection", d.display_name(o.author), None, f"{o.what}\nWhy: {o.why}")
                for o in d.objections.values()
                if o.author not in opted_out
            ]
        target_text = None
        if task == "critique":
            if target is None or target not in d.contributions:
                raise errors.NotFound("Name the draft to critique by its number.")
            target_text = d.contributions[target].text
        quoted.sort(key=lambda q: q.id)
        return AIRequest(d.question, task, tuple(quoted), left_out, target_text)

    # ------------------------------------------------------------------ cache

    async def _entry(self, guild_id: int, deliberation_id: int) -> _Entry:
        _require_id(deliberation_id)
        key = (guild_id, deliberation_id)
        entry = self._cache.get(key)
        if entry is not None:
            self._cache.move_to_end(key)
            return entry
        lock = self._loading.setdefault(key, asyncio.Lock())
        async with lock:
            entry = self._cache.get(key)
            if entry is None:
                events = await self.store.load_events(guild_id, deliberation_id)
                entry = self._remember(guild_id, Deliberation.from_events(deliberation_id, guild_id, events))
                entry.seq = len(events)
        self._loading.pop(key, None)
        return entry

    async def _reload(self, entry: _Entry, guild_id: int, deliberation_id: int) -> None:
        """The entry's deliberation as stored now (under its lock)."""
        events = await self.store.load_events(guild_id, deliberation_id)
        entry.deliberation = Deliberation.from_events(deliberation_id, guild_id, events)
        entry.seq, entry.stale = len(events), False

    def _remember(self, guild_id: int, deliberation: Deliberation) -> _Entry:
        key = (guild_id, deliberation.id)
        entry = self._cache.get(key) or _Entry(deliberation)
        entry.deliberation = deliberation
        self._cache[key] = entry
        self._cache.move_to_end(key)
        while len(self._cache) > CACHE_SIZE:
            oldest, old = next(iter(self._cache.items()))
            if old.lock.locked():
                break
            del self._cache[oldest]
        return entry


# Deliberation ids are SQLite rowids: a number past them (from a forged custom id or option) names nothing.
_MAX_ID = 2**63 - 1


def _require_id(deliberation_id: int) -> None:
    if not 0 < deliberation_id <= _MAX_ID:
        raise errors.NotFound(f"There is no deliberation #{deliberation_id} in this server.")


def _ai_due_at(d: Deliberation, at: datetime) -> datetime | None:
    """When AI participants may next be due to state positions, as far as `d`'s state says now.

    Half the positions round's time (`ai_due_at`), or `at` if some are due already (every member
    has spoken, or the moderator asked); None if none will be without another event (no seat,
    not a positions round, every AI has a position or failed in this round).
    """
    half = d.ai_due_at() if d.ai_seats else None
    if half is None:
        return None
    if d.ai_due(at):
        return min(at, half)
    return half if d.ai_due(half) else None


def _ai_contribution(d: Deliberation, result: AIResult, task: Task, target: int | None, at: datetime) -> list[Event]:
    """The engine call that stores one AI answer, with its provenance."""
    actor = Actor.ai(result.participant)
    meta = {
        "model": result.model,
        "endpoint_host": result.endpoint_host,
        "prompt_sha256": result.prompt_sha256,
        "given_ids": list(result.given_ids),
        "left_out": result.left_out_count,
        "latency_ms": round(result.latency_ms, 1),
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        # Each claim with its verified citations (contribution id and verbatim quote).
        "claims": [claim.to_dict() for claim in result.claims],
    }
    if task == "position":
        text = result.text if not result.missing else f"{result.text}\n\nWhat I may be missing: {result.missing}"
        return d.ai_position(actor, result.stance or "No stance", text, at, meta=meta)
    if task == "draft" and target is not None:  # a revision of draft `target` (`/summary revise`)
        return d.revise_draft(actor, result.text, target, at, answers=result.answers, meta=meta)
    if task == "draft":
        return d.draft(actor, result.text, at, answers=result.answers, meta=meta)
    assert target is not None
    return d.critique(actor, result.text, target, at, meta=meta)


def _revision_request(d: Deliberation, target: int) -> AIRequest:
    """What AI participants revising draft `target` are shown: the draft in its own block, then the
    members' critiques of it first and every other member contribution and objection they may
    quote (never an AI's words, nor an opted-out member's), so each claim cites members."""
    d.revisers(target)  # refuses a draft that is not one, or that no member has critiqued
    material, left_out = d.prompt_material()
    opted_out = {p.key for p in d.participants.values() if p.ai_opt_out}
    quoted = [
        QuotedContribution(c.id, c.kind.value, d.display_name(c.author), c.stance, c.text)
        for c in material
        if not c.by_ai and c.id != target
    ]
    quoted += [
        QuotedContribution(o.id, "objection", d.display_name(o.author), None, f"{o.what}\nWhy: {o.why}")
        for o in d.objections.values()
        if o.author not in opted_out
    ]
    quoted.sort(key=lambda q: q.id)
    focus = tuple(c.id for c in d.critiques_of(target, members_only=True) if c.author not in opted_out)
    return AIRequest(d.question, "draft", tuple(quoted), left_out, d.contributions[target].text, focus)


__all__: Sequence[str] = [
    "UNSET",
    "AITurn",
    "Change",
    "Clock",
    "GuildSettings",
    "Milestone",
    "PendingPost",
    "RecordSummary",
    "Roundtable",
    "StoredRecord",
    "owed_posts",
    "system_clock",
]
