"""One AI participant behind one client path: `openai.AsyncOpenAI` to any OpenAI-compatible endpoint.

The model is never trusted with structure. Every reply is bounded by a JSON schema when the
endpoint supports one, parsed leniently, validated strictly, cleaned and clipped; ids it
cites are filtered to the ids it was given. Failures (timeouts, refused connections, 5xx,
garbage) are retried with backoff and end as `AIUnavailable`, never as an exception the
caller must handle; a circuit breaker stops calling an endpoint that keeps failing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import openai
from openai.resources.chat.completions import AsyncCompletions
from openai.types.chat import ChatCompletion

from bot.ai import prompts
from bot.ai.clean import clean_line, clean_text
from bot.ai.config import AIConfig, AIParticipantConfig
from bot.ai.labels import ai_label
from bot.ai.prompts import Message, Note
from bot.ai.types import AIRequest, AIResult, AIUnavailable, QuotedContribution

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

# The embedded server needs no key, but the SDK insists on one; a placeholder also stops the
# SDK from picking up OPENAI_API_KEY and sending it to an endpoint it was not meant for.
PLACEHOLDER_KEY = "not-needed"
NOTE_OUTPUT_TOKENS = 160
NOTE_CHARS = 400
# The one retry after invalid output samples at least this warm: at temperature 0 it would
# only repeat the same mistake.
RETRY_TEMPERATURE = 0.6
MAX_CONDENSE_LEVELS = 6


class OutputInvalid(ValueError):
    """The model's reply was not the JSON object asked for."""


# Words in a 400/422 error that mean "this endpoint does not do json_schema" (rather than,
# say, "the prompt is too long", which json_object would not fix).
_FORMAT_WORDS = ("response_format", "json_schema", "schema", "grammar")


class _FormatRejected(Exception):
    """The endpoint refused `response_format: json_schema`."""


class CircuitBreaker:
    """Closed → open after `failures` consecutive failures → half-open after `cooldown_seconds`.

    Half-open lets exactly one trial request through: success closes the breaker, failure
    opens it again for another cool-down. Time comes from `clock` so tests control it.
    """

    def __init__(self, failures: int, cooldown_seconds: float, clock: Clock) -> None:
        self.failures = failures
        self.cooldown_seconds = cooldown_seconds
        self._clock = clock
        self._consecutive = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> Literal["closed", "open", "half-open"]:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.cooldown_seconds:
            return "half-open"
        return "open"

    def allow(self) -> bool:
        state = self.state
        if state == "closed":
            return True
        if state == "half-open" and not self._trial_in_flight:
            self._trial_in_flight = True
            return True
        return False

    def record_success(self) -> None:
        self._consecutive = 0
        self._opened_at = None
        self._trial_in_flight = False

    def record_failure(self) -> None:
        self._consecutive += 1
        if self._trial_in_flight or self._consecutive >= self.failures:
            self._opened_at = self._clock()
        self._trial_in_flight = False

    def release(self) -> None:
        """A request ended without a verdict (cancelled); let another trial through."""
        self._trial_in_flight = False


@dataclass
class _Exchange:
    """What one `respond` call sent and spent, for the result's provenance."""

    calls: list[list[Message]] = field(default_factory=list)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    def add_usage(self, completion: ChatCompletion) -> None:
        # Failed attempts count too: they cost the endpoint as much as the kept one.
        usage = completion.usage
        if usage is not None:
            self.prompt_tokens = (self.prompt_tokens or 0) + usage.prompt_tokens
            self.completion_tokens = (self.completion_tokens or 0) + usage.completion_tokens


EMBEDDED_HOST = "127.0.0.1 (embedded)"


def endpoint_host(base_url: str | None) -> str:
    """Host (and port) of an endpoint, without credentials or path, for the record."""
    if base_url is None:
        return EMBEDDED_HOST
    parts = urlsplit(base_url)
    host = parts.hostname or "unknown"
    return f"{host}:{parts.port}" if parts.port else host


# Closings tried, in order, on a reply cut off by the token limit mid-object.
_REPAIRS = ("", "}", '"}', '"]}', "]}", '""}')


def load_json_object(content: str | None) -> dict[str, Any]:
    """Parse a reply leniently: chatter, code fences and a cut-off ending are tolerated.

    A tiny model often runs into its token limit inside the last string; closing it keeps
    what it did say (the text is clipped and cleaned afterwards anyway).
    """
    if not content or not content.strip():
        raise OutputInvalid("empty reply")
    text = content.strip()
    start = text.find("{")
    if start < 0:
        raise OutputInvalid("no JSON object in reply")
    end = text.rfind("}")
    candidates = [text[start : end + 1]] if end > start else []
    candidates += [text[start:].rstrip().rstrip(",") + closing for closing in _REPAIRS]
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if not isinstance(value, dict):
            raise OutputInvalid("reply is not a JSON object")
        return value
    raise OutputInvalid("malformed JSON")


def _required_text(obj: dict[str, Any], key: str, max_chars: int) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise OutputInvalid(f"{key!r} missing or not a string")
    text = clean_text(value, max_chars)
    if not text:
        raise OutputInvalid(f"{key!r} is empty")
    return text


def _optional_line(obj: dict[str, Any], key: str, max_chars: int) -> str | None:
    value = obj.get(key)
    return clean_line(value, max_chars) if isinstance(value, str) else None


def filter_ids(value: object, allowed: Sequence[int]) -> tuple[int, ...]:
    """Ids from a model's list that are in `allowed`, deduplicated, in the model's order."""
    if not isinstance(value, list):
        return ()
    allowed_set, seen, out = set(allowed), set(), []
    for item in value:
        if isinstance(item, bool):
            continue
        if isinstance(item, str) and item.strip().isdigit():
            item = int(item.strip())
        if isinstance(item, int) and item in allowed_set and item not in seen:
            seen.add(item)
            out.append(item)
    return tuple(out)


class AIParticipant:
    """An AI participant: asks its endpoint, validates, cleans; never raises to the caller."""

    def __init__(
        self,
        config: AIParticipantConfig,
        *,
        base_url: str | None,
        completions: AsyncCompletions | None = None,
        breaker: CircuitBreaker | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
        backoff_base_seconds: float = 0.5,
        backoff_max_seconds: float = 8.0,
        map_concurrency: int = 2,
        unavailable_reason: str | None = None,
    ) -> None:
        self.config = config
        self.base_url = base_url
        self.breaker = breaker or CircuitBreaker(3, 60.0, clock)
        self._sleep = sleep
        self._jitter = jitter
        self._backoff_base = backoff_base_seconds
        self._backoff_max = backoff_max_seconds
        self._map_slots = asyncio.Semaphore(map_concurrency)
        self._json_schema_ok = True
        self._client: openai.AsyncOpenAI | None = None
        self._unavailable_reason = unavailable_reason
        self.endpoint_host = endpoint_host(config.base_url)
        if base_url is None and unavailable_reason is None:
            self._unavailable_reason = "no endpoint (embedded server not running)"
        if completions is not None:
            self._completions: AsyncCompletions | None = completions
        elif base_url is not None and self._unavailable_reason is None:
            self._completions = self._make_client(base_url)
        else:
            self._completions = None

    def _make_client(self, base_url: str) -> AsyncCompletions | None:
        key = PLACEHOLDER_KEY
        if self.config.api_key_env is not None:
            env_key = os.environ.get(self.config.api_key_env)
            if not env_key:
                self._unavailable_reason = f"environment variable {self.config.api_key_env} is not set"
                return None
            key = env_key
        self._client = openai.AsyncOpenAI(
            base_url=base_url,
            api_key=key,
            timeout=self.config.timeout_seconds,
            max_retries=0,  # retries are ours: backoff, breaker, and one place to log them
        )
        return self._client.chat.completions

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def model(self) -> str:
        return self.config.model

    @property
    def label(self) -> str:
        return ai_label(self.config.name, self.config.model)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()

    # -- the public call -------------------------------------------------------------------

    async def respond(self, request: AIRequest) -> AIResult | AIUnavailable:
        """Contribute to `request`, or say why not. Never raises (except on cancellation)."""
        if self._unavailable_reason is not None or self._completions is None:
            return AIUnavailable(self.name, self._unavailable_reason or "no client")
        if not self.breaker.allow():
            log.info("AI participant %s skipped: circuit open", self.name)
            return AIUnavailable(self.name, "circuit open after repeated failures")
        started = time.perf_counter()
        try:
            result = await self._run(request, started)
        except OutputInvalid as exc:
            unavailable = AIUnavailable(self.name, f"invalid output: {exc}")
            self.breaker.record_failure()
            log.warning("AI participant %s unavailable: %s", self.name, unavailable.reason)
            return unavailable
        except AIUnavailable as unavailable:
            self.breaker.record_failure()
            log.warning("AI participant %s unavailable: %s", self.name, unavailable.reason)
            return unavailable
        except asyncio.CancelledError:
            self.breaker.release()
            raise
        except Exception as exc:  # a bug here must not stop the humans' deliberation
            self.breaker.record_failure()
            log.exception("AI participant %s failed unexpectedly", self.name)
            return AIUnavailable(self.name, f"unexpected error ({type(exc).__name__})")
        self.breaker.record_success()
        return result

    # -- tasks -----------------------------------------------------------------------------

    @property
    def _budget_chars(self) -> int:
        # Keep the schema's length bound reachable within the output token budget
        # (about 2.5 characters per token, less the JSON around the text).
        by_tokens = int((self.config.max_output_tokens - 60) * 2.5)
        return max(100, min(self.config.max_output_chars, by_tokens))

    @property
    def _note_chars(self) -> int:
        # Short enough to finish within the note's token limit (about 2.5 characters a token).
        out_tokens = min(NOTE_OUTPUT_TOKENS, self.config.max_output_tokens)
        return max(100, min(NOTE_CHARS, int((out_tokens - 20) * 2.5)))

    @property
    def _prompt_budget(self) -> int:
        return self.config.context_tokens - self.config.max_output_tokens - prompts.PROMPT_MARGIN_TOKENS

    def _fits(self, messages: list[Message], output_tokens: int) -> bool:
        limit = self.config.context_tokens - output_tokens - prompts.PROMPT_MARGIN_TOKENS
        return prompts.estimate_messages_tokens(messages) <= limit

    async def _run(self, request: AIRequest, started: float) -> AIResult:
        exchange = _Exchange()
        budget = self._budget_chars
        given = tuple(c.id for c in request.contributions)
        notes: list[Note] | None = None
        messages = self._task_messages(request, None)
        if not self._fits(messages, self.config.max_output_tokens):
            notes = await self._condense(request, exchange)
            messages = self._task_messages(request, notes)

        stance: str | None
        missing: str | None
        answers: tuple[int, ...] = ()
        if request.task == "draft":
            refs = [n.number for n in notes] if notes is not None else list(given)
            obj = await self._structured(
                messages,
                prompts.draft_schema(budget, refs),
                exchange,
                self.config.max_output_tokens,
            )
            exchange.calls.append(messages)
            text = _required_text(obj, "proposal", self.config.max_output_chars)
            cited = filter_ids(obj.get("answers"), refs)
            if notes is not None:
                by_number = {n.number: n.ids for n in notes}
                cited_ids = {i for number in cited for i in by_number[number]}
                answers = tuple(i for i in given if i in cited_ids)
            else:
                answers = cited
            stance, missing = None, None
        else:
            key = "reasoning" if request.task == "position" else "critique"
            schema = prompts.position_schema(budget) if request.task == "position" else prompts.critique_schema(budget)
            obj = await self._structured(messages, schema, exchange, self.config.max_output_tokens, text_key=key)
            exchange.calls.append(messages)
            text = _required_text(obj, key, self.config.max_output_chars)
            stance = _optional_line(obj, "stance", 80)
            missing = _optional_line(obj, "missing", 200)

        return AIResult(
            participant=self.name,
            model=self.model,
            endpoint_host=self.endpoint_host,
            stance=stance,
            text=text,
            missing=missing,
            answers=answers,
            prompt_sha256=prompts.prompt_sha256(exchange.calls),
            given_ids=given,
            left_out_count=request.left_out_count,
            latency_ms=(time.perf_counter() - started) * 1000,
            prompt_tokens=exchange.prompt_tokens,
            completion_tokens=exchange.completion_tokens,
        )

    def _task_messages(self, request: AIRequest, notes: Sequence[Note] | None) -> list[Message]:
        return prompts.task_messages(
            request,
            name=self.config.name,
            persona=self.config.persona,
            budget_chars=self._budget_chars,
            notes=notes,
            item_tokens=self._prompt_budget // 3,
        )

    def _note_messages(
        self,
        request: AIRequest,
        contributions: Sequence[QuotedContribution] = (),
        notes: Sequence[Note] | None = None,
    ) -> list[Message]:
        return prompts.note_messages(
            request,
            name=self.config.name,
            persona=self.config.persona,
            contributions=contributions,
            notes=notes,
            budget_chars=self._note_chars,
            item_tokens=self._prompt_budget // 3,
        )

    # -- map-reduce ------------------------------------------------------------------------

    def _batches(self, items: Sequence[Any], build: Callable[[list[Any]], list[Message]]) -> list[list[Any]]:
        """Greedy packing: as many items per batch as keep the note prompt within context."""
        out_tokens = min(NOTE_OUTPUT_TOKENS, self.config.max_output_tokens)
        batches: list[list[Any]] = []
        current: list[Any] = []
        for item in items:
            if current and not self._fits(build([*current, item]), out_tokens):
                batches.append(current)
                current = []
            current.append(item)
        if current:
            batches.append(current)
        return batches

    async def _condense(self, request: AIRequest, exchange: _Exchange) -> list[Note]:
        """Summarise batches into notes, and notes into fewer notes, until the task fits."""
        contribution_batches = self._batches(request.contributions, lambda batch: self._note_messages(request, batch))
        log.info(
            "AI participant %s condensing %d contributions in %d batches",
            self.name,
            len(request.contributions),
            len(contribution_batches),
        )
        notes = await self._notes_from(
            request,
            [(self._note_messages(request, b), tuple(c.id for c in b)) for b in contribution_batches],
            exchange,
        )
        for _ in range(MAX_CONDENSE_LEVELS):
            if self._fits(self._task_messages(request, notes), self.config.max_output_tokens):
                return notes
            note_batches = self._batches(notes, lambda batch: self._note_messages(request, (), batch))
            if len(note_batches) >= len(notes):  # no progress possible: pair them up regardless
                note_batches = [notes[i : i + 2] for i in range(0, len(notes), 2)]
            notes = await self._notes_from(
                request,
                [
                    (
                        self._note_messages(request, (), b),
                        tuple(i for n in b for i in n.ids),
                    )
                    for b in note_batches
                ],
                exchange,
            )
        if self._fits(self._task_messages(request, notes), self.config.max_output_tokens):
            return notes
        raise AIUnavailable(self.name, "too much material to fit the model's context")

    async def _notes_from(
        self,
        request: AIRequest,
        jobs: list[tuple[list[Message], tuple[int, ...]]],
        exchange: _Exchange,
    ) -> list[Note]:
        out_tokens = min(NOTE_OUTPUT_TOKENS, self.config.max_output_tokens)

        note_chars = self._note_chars

        async def one(messages: list[Message]) -> str:
            async with self._map_slots:
                obj = await self._structured(
                    messages,
                    prompts.note_schema(note_chars),
                    exchange,
                    out_tokens,
                    text_key="note",
                )
                return _required_text(obj, "note", NOTE_CHARS)

        texts = await asyncio.gather(*(one(messages) for messages, _ in jobs))
        # Recorded in job order, not completion order, so the prompt hash is reproducible.
        exchange.calls.extend(messages for messages, _ in jobs)
        return [
            Note(number=i + 1, text=text, ids=ids) for i, (text, (_, ids)) in enumerate(zip(texts, jobs, strict=True))
        ]

    # -- one structured exchange -----------------------------------------------------------

    async def _structured(
        self,
        messages: list[Message],
        schema: dict[str, Any],
        exchange: _Exchange,
        max_tokens: int,
        *,
        text_key: str = "proposal",
    ) -> dict[str, Any]:
        """A schema-bounded reply; on invalid output, one retry in `json_object` mode."""
        problem = "no reply"
        for attempt in range(2):
            use_schema = attempt == 0 and self._json_schema_ok
            response_format: dict[str, Any] = (
                {"type": "json_schema", "json_schema": schema} if use_schema else {"type": "json_object"}
            )
            try:
                completion = await self._complete(messages, response_format, max_tokens, retry=attempt > 0)
            except _FormatRejected:
                log.info("AI participant %s: endpoint refuses json_schema", self.name)
                self._json_schema_ok = False
                completion = await self._complete(messages, {"type": "json_object"}, max_tokens)
            exchange.add_usage(completion)
            content = completion.choices[0].message.content if completion.choices else None
            try:
                obj = load_json_object(content)
                _required_text(obj, text_key, 10_000)  # the one field that must be there
            except OutputInvalid as exc:
                problem = str(exc)
                log.info(
                    "AI participant %s: invalid output (%s), attempt %d",
                    self.name,
                    problem,
                    attempt + 1,
                )
                continue
            return obj
        raise AIUnavailable(self.name, f"invalid output: {problem}")

    def _backoff(self, retry: int) -> float:
        delay = min(self._backoff_max, self._backoff_base * 2**retry)
        return delay * (0.5 + self._jitter() / 2)

    async def _complete(
        self,
        messages: list[Message],
        response_format: dict[str, Any],
        max_tokens: int,
        *,
        retry: bool = False,
    ) -> ChatCompletion:
        """One completion, retrying transport failures with exponential backoff."""
        assert self._completions is not None
        problem = "no attempt"
        for attempt in range(self.config.max_retries + 1):
            if attempt:
                await self._sleep(self._backoff(attempt - 1))
            try:
                # A guard above the SDK's own timeout, for a transport that never returns.
                async with asyncio.timeout(self.config.timeout_seconds * 1.5 + 1):
                    # Plain dicts, not the SDK's TypedDict unions: the bodies are built from
                    # JSON schemas, and `prompts` stays free of SDK types.
                    return await self._completions.create(  # type: ignore[call-overload]
                        model=self.config.model,
                        messages=messages,
                        max_tokens=max_tokens,
                        temperature=(
                            max(self.config.temperature, RETRY_TEMPERATURE) if retry else self.config.temperature
                        ),
                        response_format=response_format,
                    )
            except (openai.APITimeoutError, TimeoutError):
                problem = "timed out"
            except openai.APIConnectionError:
                problem = "connection failed"
            except openai.APIStatusError as exc:
                status = exc.status_code
                if status == 429 or status >= 500 or status == 408:
                    problem = f"server error ({status})"
                elif (
                    status in (400, 422)
                    and response_format["type"] == "json_schema"
                    and any(word in str(exc.message).lower() for word in _FORMAT_WORDS)
                ):
                    raise _FormatRejected from exc
                else:
                    raise AIUnavailable(self.name, f"request refused ({status})") from exc
            log.info(
                "AI participant %s: %s (attempt %d of %d)",
                self.name,
                problem,
                attempt + 1,
                self.config.max_retries + 1,
            )
        raise AIUnavailable(self.name, problem)


def participants_from_config(
    config: AIConfig,
    *,
    embedded_base_url: str | None,
    clock: Clock = time.monotonic,
    sleep: Sleep = asyncio.sleep,
) -> list[AIParticipant]:
    """One `AIParticipant` per configured participant, each with its own breaker."""
    return [
        AIParticipant(
            p,
            base_url=p.base_url if p.base_url is not None else embedded_base_url,
            breaker=CircuitBreaker(config.breaker_failures, config.breaker_cooldown_seconds, clock),
            clock=clock,
            sleep=sleep,
            backoff_base_seconds=config.backoff_base_seconds,
            backoff_max_seconds=config.backoff_max_seconds,
            map_concurrency=config.parallel_requests,
        )
        for p in config.participants
    ]


async def ask_all(participants: Sequence[AIParticipant], request: AIRequest) -> list[AIResult | AIUnavailable]:
    """Ask every participant at once; one failing or slow leaves the others unaffected.

    Results come back in the participants' order.
    """
    outcomes = await asyncio.gather(*(p.respond(request) for p in participants), return_exceptions=True)
    results: list[AIResult | AIUnavailable] = []
    for participant, outcome in zip(participants, outcomes, strict=True):
        if isinstance(outcome, AIResult | AIUnavailable):
            results.append(outcome)
        else:
            log.error("AI participant %s raised %r", participant.name, outcome)
            results.append(AIUnavailable(participant.name, f"unexpected error ({outcome!r})"))
    return results
