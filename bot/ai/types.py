"""Plain data passed between the engine and the AI layer; no Discord, no network."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.ai.grounding import Claim
from bot.ai.labels import rejected_notice, rejected_reason, unavailable_notice

Task = Literal["position", "critique", "draft"]


@dataclass(frozen=True, slots=True)
class QuotedContribution:
    """A contribution as the AI may see it (opted-out members never appear).

    `by_ai`: written by an AI participant. Such a contribution is never shown as citable
    material and never accepted as a citation: AI text is grounded in members' words only.
    """

    id: int
    kind: str
    author_label: str
    stance: str | None
    text: str
    by_ai: bool = False


@dataclass(frozen=True, slots=True)
class AIRequest:
    """What the engine asks of every AI participant at the table."""

    question: str
    task: Task
    contributions: tuple[QuotedContribution, ...] = ()
    # Members left out because they opted out of AI processing; the prompt says how many.
    left_out_count: int = 0
    # The proposal draft to critique (task "critique"), or to revise (task "draft": a revision).
    target_text: str | None = None
    # Contributions shown first, before all others (a revision: the critiques it answers).
    focus: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.task not in ("position", "critique", "draft"):
            raise ValueError(f"unknown AI task {self.task!r}")
        if self.task == "critique" and not (self.target_text or "").strip():
            raise ValueError("a critique needs the draft to critique (target_text)")
        if self.left_out_count < 0:
            raise ValueError("left_out_count cannot be negative")
        ids = [c.id for c in self.contributions]
        if len(ids) != len(set(ids)):
            raise ValueError("contribution ids must be unique")


@dataclass(frozen=True, slots=True)
class AIResult:
    """One AI contribution, cleaned and labelled, with its provenance."""

    participant: str
    model: str
    endpoint_host: str
    stance: str | None
    text: str
    missing: str | None
    # Ids of the contributions a draft answers; always a subset of `given_ids`.
    answers: tuple[int, ...]
    # sha256 of the exact messages sent (all of them, in order, for a map-reduce draft).
    prompt_sha256: str
    given_ids: tuple[int, ...]
    left_out_count: int
    latency_ms: float
    prompt_tokens: int | None
    completion_tokens: int | None
    # What `text` is made of: each claim with its verified citations (`bot.ai.grounding`).
    claims: tuple[Claim, ...] = ()


# Both a result (returned by `ask_all`) and an exception (raised inside the retry loop).
class AIUnavailable(Exception):
    """An AI participant could not contribute; returned by `ask_all`, never fatal."""

    def __init__(self, participant: str, reason: str) -> None:
        super().__init__(participant, reason)
        self.participant = participant
        self.reason = reason

    def __str__(self) -> str:
        return f"AI participant {self.participant} is unavailable: {self.reason}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AIUnavailable) and (self.participant, self.reason) == (other.participant, other.reason)

    def __hash__(self) -> int:
        return hash((self.participant, self.reason))

    @property
    def notice(self) -> str:
        """The short public notice; the reason stays in the logs."""
        return unavailable_notice(self.participant)


class AIRejected(AIUnavailable):
    """The participant answered, but the answer failed the gate (`bot.ai.gate`) and is not posted.

    `reason` is what the record keeps ("gave no usable contribution (ends mid-word)"); `why`
    is the gate's bare reason.
    """

    def __init__(self, participant: str, why: str) -> None:
        super().__init__(participant, rejected_reason(why))
        self.why = why

    def __str__(self) -> str:
        return self.notice

    @property
    def notice(self) -> str:
        # The reason is the gate's own wording, safe to show: it names no host and no error.
        return rejected_notice(self.participant, self.why)
