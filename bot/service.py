"""The application service: the one place where the engine's decisions meet storage.

Every action goes the same way: load the deliberation (replayed from its events, then kept in
memory), let the engine decide, store the events and the state they change in one transaction,
and only then apply them in memory and answer. A refusal raises before anything is written.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final
from urllib.parse import urlparse

from bot.ai.panel import AIPanel
from bot.ai.types import AIRequest, AIResult, AIUnavailable, QuotedContribution, Task
from bot.config import Settings
from bot.engine import errors
from bot.engine.deliberation import Deliberation
from bot.engine.model import (
    Actor,
    AIParticipantSpec,
    ContributionKind,
    DeliberationSettings,
    Event,
)
from bot.engine.record import compose_record, seal_with
from bot.store import GuildSettings, Store, StoredRecord

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


@dataclass(frozen=True)
class Change:
    """What an accepted action did: the deliberation after it, and the events it recorded."""

    deliberation: Deliberation
    events: list[Event]
    chain_head: str = ""
    record: StoredRecord | None = None

    def has(self, kind: str) -> bool:
        return any(e.kind == kind for e in self.events)

    def added(self, kind: ContributionKind | None = None) -> list[int]:
        """Ids of contributions and objections this change added."""
        ids = []
        for e in self.events:
            if (e.kind == "contribution.added" and (kind is None or e.payload["kind"] == kind.value)) or (
                e.kind == "objection.raised" and kind is None
            ):
                ids.append(e.payload["id"])
        return ids


@dataclass(frozen=True)
class AITurn:
    """What the AI participants contributed when asked, and who was unavailable."""

    changes: list[Change] = field(default_factory=list)
    unavailable: list[AIUnavailable] = field(default_factory=list)


@dataclass
class _Entry:
    deliberation: Deliberation
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Roundtable:
    """Deliberations for every guild the bot serves, over one store."""

    def __init__(
        self, settings: Settings, store: Store, clock: Clock = system_clock, *, ai: AIPanel | None = None
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

    @classmethod
    async def open(cls, settings: Settings, clock: Clock | None = None, *, ai: AIPanel | None = None) -> Roundtable:
        store = await Store.open(settings.database.path)
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
        seats = []
        for p in self.settings.ai.participants:
            host = urlparse(p.base_url).hostname if p.base_url else "embedded"
            seats.append(AIParticipantSpec(p.name, p.model, host or "", p.persona))
        return seats

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
        )
        deliberation = Deliberation.from_events(deliberation_id, guild_id, events)
        self._remember(guild_id, deliberation)
        log.info("deliberation %s opened in guild %s (%s)", deliberation_id, guild_id, name)
        return Change(deliberation, events)

    async def get(self, guild_id: int, deliberation_id: int) -> Deliberation:
        return (await self._entry(guild_id, deliberation_id)).deliberation

    async def act(self, guild_id: int, deliberation_id: int, decide: Decision) -> Change:
        """Decide, store, then apply. Nothing is written when the engine refuses."""
        entry = await self._entry(guild_id, deliberation_id)
        async with entry.lock:
            deliberation = entry.deliberation
            at = self.now()
            events = decide(deliberation, at)
            if not events:
                raise errors.AlreadyRecorded("Nothing to change.")
            # Applying first lets the rows and the record be derived from the new state; if
            # storing fails, the entry is dropped so the next action replays what is on disk.
            deliberation.apply_all(events)
            try:
                touched = {e.payload["id"] for e in events if e.kind in ("contribution.added", "contribution.edited")}
                sealed = any(e.kind == "deliberation.sealed" for e in events)
                record = compose_record(deliberation) if sealed else None
                if record is not None:
                    events = [seal_with(e, record) if e.kind == "deliberation.sealed" else e for e in events]
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
                )
            except BaseException:
                self._cache.pop((guild_id, deliberation_id), None)
                raise
        stored = await self.store.record(guild_id, deliberation_id) if record is not None else None
        return Change(deliberation, events, head, stored)

    async def close_due_round(self, guild_id: int, deliberation_id: int) -> Change | None:
        """Close the current round if its deadline has passed (the scheduler's call)."""
        deliberation = await self.get(guild_id, deliberation_id)
        deadline = deliberation.round.deadline
        if not deliberation.is_open or deadline is None or self.now() < deadline:
            return None
        return await self.act(guild_id, deliberation_id, lambda d, at: d.advance(Actor.system("deadline"), at))

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

    async def record(self, guild_id: int, deliberation_id: int) -> StoredRecord:
        return await self.store.record(guild_id, deliberation_id)

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
    ) -> AITurn:
        """Ask the seated AI participants for `task` and store each answer as its own labelled contribution.

        For positions only those the engine says are due are asked. Whatever the models say
        enters through the same engine rules as anything else: a labelled contribution at
        most. An unavailable participant is noted, and the deliberation goes on.
        """
        d = await self.get(guild_id, deliberation_id)
        at = self.now()
        seats = list(d.ai_seats) if names is None else [n for n in d.ai_seats if n in set(names)]
        if task == "position":
            due = set(d.ai_due(at))
            seats = [n for n in seats if n in due]
        seats = [n for n in seats if (guild_id, deliberation_id, n) not in self._ai_busy]
        if not seats or not self.ai.config.enabled:
            return AITurn()
        request = self._ai_request(d, task, target)
        busy = {(guild_id, deliberation_id, n) for n in seats}
        self._ai_busy |= busy
        try:
            await self.start_ai()
            results = await self.ai.ask(request, seats)
            turn = AITurn()
            for result in results:
                if isinstance(result, AIUnavailable):
                    turn.unavailable.append(result)

                    def note(d: Deliberation, at: datetime, r: AIUnavailable = result) -> list[Event]:
                        return d.note_ai_unavailable(r.participant, r.reason, at)

                    await self.act(guild_id, deliberation_id, note)
                    continue

                def contribute(d: Deliberation, at: datetime, r: AIResult = result) -> list[Event]:
                    return _ai_contribution(d, r, task, target, at)

                try:
                    turn.changes.append(await self.act(guild_id, deliberation_id, contribute))
                except errors.RoundtableError as refusal:
                    # The round moved on while the model was thinking; its answer is not due any more.
                    log.info("AI participant %s answer not stored: %s", result.participant, refusal)
            return turn
        finally:
            self._ai_busy -= busy

    def _ai_request(self, d: Deliberation, task: Task, target: int | None) -> AIRequest:
        material, left_out = d.prompt_material()
        opted_out = {p.key for p in d.participants.values() if p.ai_opt_out}
        quoted = [QuotedContribution(c.id, c.kind.value, d.display_name(c.author), c.stance, c.text) for c in material]
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
        self._loading.pop(key, None)
        return entry

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
    if task == "draft":
        return d.draft(actor, result.text, at, answers=result.answers, meta=meta)
    assert target is not None
    return d.critique(actor, result.text, target, at, meta=meta)


__all__: Sequence[str] = ["UNSET", "AITurn", "Change", "Clock", "Roundtable", "system_clock"]
