"""A spec'd fake of the AI panel for tests that are not about the model: "Sage" answers, "Dead" is down."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any
from unittest.mock import create_autospec

from bot.ai.config import AIConfig
from bot.ai.panel import AIPanel
from bot.ai.types import AIRequest, AIResult, AIUnavailable

Text = Callable[[AIRequest], tuple[str | None, str]]
"""(stance, text) that Sage answers to a request."""


def ai_answer(name: str, request: AIRequest, *, stance: str | None, text: str, missing: str | None = None) -> AIResult:
    """An answer with plausible provenance; a draft answers every contribution it was given."""
    ids = tuple(c.id for c in request.contributions)
    return AIResult(
        participant=name,
        model="smollm2-135m",
        endpoint_host="127.0.0.1 (embedded)",
        stance=stance,
        text=text,
        missing=missing,
        answers=ids,
        prompt_sha256="ab" * 32,
        given_ids=ids,
        left_out_count=request.left_out_count,
        latency_ms=12.5,
        prompt_tokens=100,
        completion_tokens=40,
    )


def fake_panel(config: AIConfig, text: Text, *, missing: str | None = None) -> Any:
    """An `AIPanel` whose participant "Dead" is always unavailable and every other answers `text`.

    Every call is kept in `.requests` as (request, names asked).
    """
    fake = create_autospec(AIPanel, instance=True)
    fake.config = config
    fake.requests = []

    async def ask(request: AIRequest, names: Sequence[str] | None = None) -> list[AIResult | AIUnavailable]:
        fake.requests.append((request, list(names or [])))
        out: list[AIResult | AIUnavailable] = []
        for name in names or [p.name for p in config.participants]:
            if name == "Dead":
                out.append(AIUnavailable("Dead", "connection refused"))
            else:
                stance, body = text(request)
                out.append(ai_answer(name, request, stance=stance, text=body, missing=missing))
        return out

    fake.ask.side_effect = ask
    return answers_each(fake)


def answers_each(fake: Any) -> Any:
    """Make a spec'd panel's `each` yield what its `ask` answers, one participant after another."""

    async def each(request: AIRequest, names: Sequence[str] | None = None) -> AsyncIterator[AIResult | AIUnavailable]:
        for answer in await fake.ask(request, names):
            yield answer

    fake.each.side_effect = each
    return fake
