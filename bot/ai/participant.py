"""One AI participant behind one client path: `openai.AsyncOpenAI` to any OpenAI-compatible endpoint.

The model is never trusted with structure or with quotes. Every reply is bounded by a JSON
schema when the endpoint supports one, parsed leniently, validated strictly, cleaned and
clipped; every claim's citations are checked against the contributions the prompt showed
(`bot.ai.grounding`), and what would be posted passes the gate (`bot.ai.gate`) or is not
posted at all (`AIRejected`, after one retry). Ids it cites are filtered to the ids it was
given. Transport failures (timeouts, refused connections, 5xx) are retried with backoff and
end as `AIUnavailable`, never as an exception the caller must handle; a circuit breaker stops
calling an endpoint that keeps failing.
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

from bot.ai import gate, grounding, prompts
from bot.ai.clean import clean_line
from bot.ai.config import AIConfig, AIParticipantConfig, GateConfig
from bot.ai.labels import ai_label
from bot.ai.prompts import Material, Message
from bot.ai.types import AIRejected, AIRequest, AIResult, AIUnavailable

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

# The embedded server needs no key, but the SDK insists on one; a placeholder also stops the
# SDK from picking up OPENAI_API_KEY and sending it to an endpoint it was not meant for.
PLACEHOLDER_KEY = "not-needed"
# The one retry after invalid output samples at least this warm: at temperature 0 it would
# only repeat the same mistake.
RETRY_TEMPERATURE = 0.6
# Room in the prompt for the material's own header lines, beyond the fixed parts.
MATERIAL_HEADER_TOKENS = 60


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


def _required_claims(obj: dict[str, Any]) -> list[Any]:
    claims = obj.get("claims")
    if not isinstance(claims, list) or not claims:
        raise OutputInvalid("'claims' missing or not a list")
    return claims


# How the line is joined to the claims in the stored text (`bot.service`).
MISSING_PREFIX = "\n\nWhat I may be missing: "


def tidy_text(text: str, limit: int) -> str:
    """Model text as members would see it: cleaned (`bot.ai.clean`: nothing invisible, no pings,
    formatting escaped, clipped at a word with "…"), then an unfinished tail after a finished
    sentence dropped. The gate judges what is left."""
    return gate.trim_to_sentence(clean_line(text, limit) or "")


def stance_choice(value: object, choices: Sequence[str]) -> str | None:
    """The offered stance `value` names (case, spacing and end punctuation aside).

    Raises `OutputInvalid` for anything else: a stance is a choice, never free text. An
    endpoint that ignores the schema's enum could otherwise put "The group has reached
    consensus" in the record as the AI's stance. A missing stance is None (no stance).
    """
    if value is None:
        return None
    if isinstance(value, str):
        said = " ".join(grounding.normalise(value).casefold().strip(" .!;:\"'").split())
        for choice in choices:
            if said == choice.casefold():
                return choice
    raise OutputInvalid("'stance' is not one of the offered choices")


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
        unavailable_reason: str | None = None,
        gate_config: GateConfig | None = None,
    ) -> None:
        self.config = config
        self.base_url = base_url
        self.breaker = breaker or CircuitBreaker(3, 60.0, clock)
        self._sleep = sleep
        self._jitter = jitter
        self._backoff_base = backoff_base_seconds
        self._backoff_max = backoff_max_seconds
        self.gate_config = gate_config or GateConfig()
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
        except AIRejected as rejected:
            # Output that does not follow the format says the endpoint is misbehaving; output
            # the gate refuses says only that this answer was not usable.
            if rejected.why.startswith(gate.FORMAT):
                self.breaker.record_failure()
            else:
                self.breaker.record_success()
            log.warning("AI participant %s gave no usable contribution: %s", self.name, rejected.why)
            return rejected
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
    def max_claims(self) -> int:
        # About fifty output tokens a claim (text, quotes and JSON), after the other keys.
        return max(1, min(4, (self.config.max_output_tokens - 60) // 50))

    @property
    def claim_chars(self) -> int:
        # Keep the schema's length bound reachable within the output token budget (about 2.5
        # characters per token, less the JSON around the text).
        per_claim_tokens = (self.config.max_output_tokens - 60) / self.max_claims
        return max(60, min(300, int(per_claim_tokens * 2.5) - 20))

    @property
    def _prompt_budget(self) -> int:
        return self.config.context_tokens - self.config.max_output_tokens - prompts.PROMPT_MARGIN_TOKENS

    def material(self, request: AIRequest) -> Material:
        """The contributions this participant's prompt can show, within its context."""
        fixed = prompts.estimate_messages_tokens(self.task_messages(request, Material()))
        return prompts.select_material(request, max(0, self._prompt_budget - fixed - MATERIAL_HEADER_TOKENS))

    def task_messages(self, request: AIRequest, material: Material) -> list[Message]:
        return prompts.task_messages(
            request,
            material,
            name=self.config.name,
            persona=self.config.persona,
            max_claims=self.max_claims,
            claim_chars=self.claim_chars,
        )

    def schema(self, request: AIRequest, material: Material) -> dict[str, Any]:
        keys, chars, most = material.keys, self.claim_chars, self.max_claims
        if request.task == "position":
            return prompts.position_schema(keys, chars, most)
        if request.task == "critique":
            return prompts.critique_schema(keys, chars, most)
        return prompts.draft_schema(keys, [c.id for c in material.shown], chars, most)

    async def _run(self, request: AIRequest, started: float) -> AIResult:
        exchange = _Exchange()
        material = self.material(request)
        messages = self.task_messages(request, material)
        if prompts.estimate_messages_tokens(messages) > self._prompt_budget:
            raise AIUnavailable(self.name, "the question alone does not fit the model's context")
        schema = self.schema(request, material)
        exchange.calls.append(messages)
        why = "no reply"
        format_failed = False
        # One retry: after output that breaks the format (in json_object mode, for endpoints
        # that ignore the schema), or after output the gate refuses (sampled warmer).
        for attempt in range(2):
            use_schema = self._json_schema_ok and not format_failed
            response_format: dict[str, Any] = (
                {"type": "json_schema", "json_schema": schema} if use_schema else {"type": "json_object"}
            )
            try:
                completion = await self._complete(
                    messages, response_format, self.config.max_output_tokens, retry=attempt > 0
                )
            except _FormatRejected:
                log.info("AI participant %s: endpoint refuses json_schema", self.name)
                self._json_schema_ok = False
                completion = await self._complete(messages, {"type": "json_object"}, self.config.max_output_tokens)
            exchange.add_usage(completion)
            choice = completion.choices[0] if completion.choices else None
            try:
                obj = load_json_object(choice.message.content if choice is not None else None)
                raw_claims = _required_claims(obj)
                if request.task != "draft":
                    obj["stance"] = stance_choice(obj.get("stance"), prompts.stance_choices(request.task))
            except OutputInvalid as exc:
                why, format_failed = f"{gate.FORMAT}: {exc}", True
                log.info("AI participant %s: invalid output (%s), attempt %d", self.name, exc, attempt + 1)
                continue
            format_failed = False
            truncated = choice is not None and choice.finish_reason == "length"
            outcome = self._accept(request, material, messages, obj, raw_claims, truncated=truncated)
            if isinstance(outcome, str):
                why = outcome
                log.info("AI participant %s: output refused (%s), attempt %d", self.name, why, attempt + 1)
                log.debug("AI participant %s: refused output %r", self.name, obj)
                continue
            stance, text, missing, claims, answers = outcome
            return AIResult(
                participant=self.name,
                model=self.model,
                endpoint_host=self.endpoint_host,
                stance=stance,
                text=text,
                missing=missing,
                answers=answers,
                prompt_sha256=prompts.prompt_sha256(exchange.calls),
                given_ids=tuple(c.id for c in material.shown),
                left_out_count=request.left_out_count,
                latency_ms=(time.perf_counter() - started) * 1000,
                prompt_tokens=exchange.prompt_tokens,
                completion_tokens=exchange.completion_tokens,
                claims=claims,
            )
        raise AIRejected(self.name, why)

    def _accept(
        self,
        request: AIRequest,
        material: Material,
        messages: list[Message],
        obj: dict[str, Any],
        raw_claims: list[Any],
        *,
        truncated: bool,
    ) -> tuple[str | None, str, str | None, tuple[grounding.Claim, ...], tuple[int, ...]] | str:
        """The contribution to post from a parsed reply, or the gate's reason to post nothing."""
        limit = self.claim_chars

        def tidy(text: str) -> str:
            return tidy_text(text, limit)

        check = grounding.check_claims(raw_claims, material.sources, material.given, clean=tidy, ai_ids=material.ai_ids)
        for text, problem in check.dropped:
            log.info("AI participant %s: claim dropped (%s): %.80r", self.name, problem, text)
        # The visible text within the length budget: whole claims only.
        claims: list[grounding.Claim] = []
        said: set[str] = set()
        used = 0
        for claim in check.kept:
            if grounding.normalise(claim.text).casefold() in said:
                continue  # the same point twice is said once
            said.add(grounding.normalise(claim.text).casefold())
            used += len(claim.text) + 3
            if used > self.config.max_output_chars:
                break
            claims.append(claim)
        # A claim that filled its length bound, or the last one when the token limit cut the
        # reply, may have been cut short.
        cut = [len(c.text) >= limit - 1 for c in claims]
        if truncated and cut:
            cut[-1] = True
        members: dict[str, list[str]] = {}
        for c in material.shown:
            members.setdefault(c.author_label, []).append(c.text)
        texts = {label: "\n".join(parts) for label, parts in members.items()}
        instructions = prompts.instructions_of(messages)
        screened = gate.screen(gate.Candidate([c.text for c in claims], cut, instructions, texts), self.gate_config)
        for index, problem in screened.dropped:
            log.info("AI participant %s: claim dropped (%s): %.80r", self.name, problem, claims[index].text)
        if screened.verdict is not None:
            return screened.verdict
        claims = [claims[i] for i in screened.kept]
        pieces = [c.text for c in claims]
        missing: str | None = None
        if request.task != "draft" and isinstance(obj.get("missing"), str):
            missing = self._missing_line(obj["missing"], pieces, instructions, texts)
        if request.task == "draft" and request.focus and not set(request.focus) & set(grounding.cited_ids(claims)):
            return gate.NO_CRITIQUE_ANSWERED  # a revision answers the critiques, quoting them
        if request.task == "draft":
            text = "\n".join(f"- {p}" for p in pieces)
            answers = filter_ids(obj.get("answers"), [c.id for c in material.shown])
            return None, text, None, tuple(claims), answers
        # Checked in `_run` against the offered choices (`stance_choice`): one of them, or None.
        stance = obj.get("stance") if isinstance(obj.get("stance"), str) else None
        return stance, " ".join(pieces), missing, tuple(claims), ()

    def _missing_line(self, raw: str, pieces: Sequence[str], instructions: str, members: dict[str, str]) -> str | None:
        """The "What I may be missing" line, when it passes what a claim must pass; else None.

        It is cleaned like a claim (nothing invisible, no pings, formatting escaped, an
        unfinished tail dropped), then judged by the same gate as the claims (echo, markup,
        directing the members, copying a member, digit soup, loops, an unfinished ending), must
        not repeat a claim, and must fit the contribution's length budget. Optional, so a line
        that fails is left out, with the reason logged, rather than sinking the contribution.
        """
        line = tidy_text(raw, prompts.MISSING_CHARS)
        if not line:
            return None
        cut = len(line) >= prompts.MISSING_CHARS - 1
        problem = gate.gate(gate.Candidate([line], [cut], instructions, members), self.gate_config)
        said = gate.words(line)
        if problem is None and any(
            gate.copied_share(said, gate.words(p), self.gate_config.copy_ngram_words) > self.gate_config.copy_max_share
            for p in pieces
        ):
            problem = gate.REPEATS
        posted = len(" ".join(pieces)) + len(MISSING_PREFIX) + len(line)
        if problem is None and posted > self.config.max_output_chars:
            problem = "over the length budget"
        if problem is not None:
            log.info("AI participant %s: missing-line dropped (%s): %.80r", self.name, problem, line)
            return None
        return line

    # -- one structured exchange -----------------------------------------------------------

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
            gate_config=config.gate,
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
