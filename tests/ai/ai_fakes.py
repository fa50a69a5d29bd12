"""A spec'd fake of the OpenAI chat-completions resource, and helpers to script it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any
from unittest.mock import create_autospec

import httpx2
import openai
from openai.resources.chat.completions import AsyncCompletions
from openai.types.chat import ChatCompletion

from bot.ai.config import AIParticipantConfig
from bot.ai.participant import AIParticipant, CircuitBreaker

BASE_URL = "http://fake.test/v1"
_REQUEST = httpx2.Request("POST", f"{BASE_URL}/chat/completions")

Step = ChatCompletion | BaseException | Callable[[dict[str, Any]], Any]


def completion(content: str | None, prompt_tokens: int = 11, completion_tokens: int = 7) -> ChatCompletion:
    return ChatCompletion.model_validate(
        {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 0,
            "model": "fake-model",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": content},
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
    )


def reply(**fields: Any) -> ChatCompletion:
    return completion(json.dumps(fields))


def timeout_error() -> openai.APITimeoutError:
    return openai.APITimeoutError(request=_REQUEST)


def connection_error() -> openai.APIConnectionError:
    return openai.APIConnectionError(request=_REQUEST)


def status_error(status: int, message: str | None = None) -> openai.APIStatusError:
    response = httpx2.Response(status, request=_REQUEST)
    classes: dict[int, type[openai.APIStatusError]] = {
        400: openai.BadRequestError,
        401: openai.AuthenticationError,
        429: openai.RateLimitError,
    }
    cls = classes.get(status, openai.InternalServerError)
    return cls(message or f"status {status}", response=response, body=None)


class Script:
    """Plays `steps` in order, one per call; records each call's keyword arguments."""

    def __init__(self, *steps: Step, default: Step | None = None) -> None:
        self.steps = list(steps)
        self.default = default
        self.calls: list[dict[str, Any]] = []

    async def __call__(self, **kwargs: Any) -> ChatCompletion:
        self.calls.append(kwargs)
        if self.steps:
            step = self.steps.pop(0)
        elif self.default is not None:
            step = self.default
        else:
            raise AssertionError("the fake endpoint was called more often than scripted")
        if isinstance(step, BaseException):
            raise step
        if callable(step):
            result = step(kwargs)
            if asyncio.iscoroutine(result):
                result = await result
            return result
        return step

    @property
    def formats(self) -> list[str]:
        return [c["response_format"]["type"] for c in self.calls]


def fake_completions(script: Script) -> Any:
    fake = create_autospec(AsyncCompletions, instance=True)
    # The autospec checks every call against the SDK's real signature; the script answers.
    fake.create.side_effect = script
    return fake


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Sleeps:
    """Records backoff delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def make_participant(
    script: Script,
    *,
    clock: FakeClock | None = None,
    sleeps: Sleeps | None = None,
    failures: int = 3,
    cooldown: float = 60.0,
    **config: Any,
) -> AIParticipant:
    clock = clock or FakeClock()
    return AIParticipant(
        AIParticipantConfig(**{"name": "alpha", "base_url": BASE_URL, **config}),
        base_url=BASE_URL,
        completions=fake_completions(script),
        breaker=CircuitBreaker(failures, cooldown, clock),
        clock=clock,
        sleep=sleeps or Sleeps(),
        jitter=lambda: 1.0,  # no randomness: the delay is exactly base * 2**retry
        backoff_base_seconds=0.5,
        backoff_max_seconds=8.0,
    )
