"""Settings: `config.toml`, then environment variables, with keyword arguments above both.

Environment variables use the prefix `ROUNDTABLE__` and `__` for nesting, e.g.
`ROUNDTABLE__DISCORD__TOKEN` or `ROUNDTABLE__DATABASE__PATH`. The file is `config.toml` in the
working directory unless `ROUNDTABLE_CONFIG` names another.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from bot.ai.config import AIConfig
from bot.engine.templates import BUILTIN_TEMPLATES, RoundKind
from bot.store.url import BadDatabaseURL, DatabaseURL, parse_database_url, sqlite_url

CONFIG_ENV = "ROUNDTABLE_CONFIG"

# Which file and whether the environment is read, for the `Settings` being built now.
_toml_file: ContextVar[Path | None] = ContextVar("roundtable_toml_file", default=None)
_read_env: ContextVar[bool] = ContextVar("roundtable_read_env", default=True)


class DiscordSettings(BaseModel):
    token: SecretStr | None = None
    # Run each deliberation in the channel where it was started instead of a new thread.
    run_in_channel: bool = False
    # Guilds to sync slash commands to immediately (global sync can take an hour).
    dev_guild_ids: list[int] = Field(default_factory=list)
    # Sharding (several processes against one database): how many shards in all, and which of
    # them this process runs (default: all). A process serves, restores and fires the timers of
    # the guilds of its shards only, guild (id >> 22) % shard_count. None: one unsharded process.
    shard_count: int | None = Field(default=None, ge=1, le=10_000)
    shard_ids: list[int] | None = None

    @model_validator(mode="after")
    def _shards_are_sound(self) -> DiscordSettings:
        if self.shard_ids is None:
            return self
        if self.shard_count is None:
            raise ValueError("discord.shard_ids needs discord.shard_count (how many shards in all)")
        if not self.shard_ids:
            raise ValueError("discord.shard_ids is empty: name at least one shard, or leave it out for all")
        if len(set(self.shard_ids)) != len(self.shard_ids):
            raise ValueError("discord.shard_ids repeats a shard")
        outside = [i for i in self.shard_ids if not 0 <= i < self.shard_count]
        if outside:
            last = self.shard_count - 1
            raise ValueError(f"discord.shard_ids {outside} are outside 0..{last} (discord.shard_count is {last + 1})")
        return self

    def owns(self, guild_id: int) -> bool:
        """Whether this process serves the guild (Discord's rule: shard = (guild_id >> 22) % shard_count)."""
        if self.shard_count is None or self.shard_ids is None:
            return True
        return (guild_id >> 22) % self.shard_count in self.shard_ids


class DatabaseSettings(BaseModel):
    # Which database: `sqlite:///PATH` (relative) or `sqlite:////PATH` (absolute), or
    # `postgresql://USER@HOST[:PORT]/DB`. Unset, the SQLite file `path` below. A PostgreSQL
    # password is never part of it: asyncpg reads PGPASSWORD (or ~/.pgpass) from the environment.
    url: str | None = None
    # The SQLite file: the shorthand for `url = "sqlite:///<path>"` (an SQLite `url` sets it).
    path: Path = Path("data/roundtable.sqlite3")
    # The Ed25519 key that signs every chain head; made on first start (0600), never stored in
    # the database. Default: `roundtable-signing.key` beside the database file.
    signing_key: Path | None = None

    @field_validator("url")
    @classmethod
    def _url_is_a_database(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_database_url(value)
            except BadDatabaseURL as exc:
                raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _sqlite_url_sets_path(self) -> DatabaseSettings:
        if self.url is not None:
            parsed = parse_database_url(self.url)
            if parsed.path is not None:
                self.path = parsed.path
        return self

    @property
    def database_url(self) -> DatabaseURL:
        """The database to open: a PostgreSQL `url`, else the SQLite file `path` (an SQLite `url` set it)."""
        parsed = parse_database_url(self.url) if self.url is not None else None
        return parsed if parsed is not None and parsed.is_postgresql else parse_database_url(sqlite_url(self.path))

    @property
    def signing_key_path(self) -> Path:
        return self.signing_key if self.signing_key is not None else self.path.parent / "roundtable-signing.key"


class DeliberationDefaults(BaseModel):
    template: str = "consent"
    quorum: int = Field(default=3, ge=1, le=1000)
    round_minutes: int = Field(default=1440, ge=1, le=60 * 24 * 30)
    min_round_minutes: int = Field(default=10, ge=0, le=60 * 24 * 30)
    anonymous: bool = False
    # In an anonymous deliberation, may the moderator see who is behind an alias?
    reveal_aliases_to_moderator: bool = False


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ROUNDTABLE__",
        env_nested_delimiter="__",
        extra="forbid",
        # A refused value is not echoed back in the error: a database URL may carry a password,
        # a token is a secret.
        hide_input_in_errors=True,
    )

    discord: DiscordSettings = Field(default_factory=DiscordSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    deliberation: DeliberationDefaults = Field(default_factory=DeliberationDefaults)
    # Custom process templates: name -> ordered round kinds (positions, dissent, synthesis, consent).
    templates: dict[str, list[RoundKind]] = Field(default_factory=dict)
    ai: AIConfig = Field(default_factory=AIConfig)
    log_level: str = "INFO"

    @field_validator("templates")
    @classmethod
    def _templates_are_sound(cls, value: dict[str, list[RoundKind]]) -> dict[str, list[RoundKind]]:
        for name, rounds in value.items():
            if name in BUILTIN_TEMPLATES:
                raise ValueError(f"template {name!r} is built in; choose another name")
            if not rounds:
                raise ValueError(f"template {name!r} has no rounds")
            if len(set(rounds)) != len(rounds):
                raise ValueError(f"template {name!r} repeats a round kind")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings]
        if _read_env.get():
            sources.append(env_settings)
        toml = _toml_file.get()
        if toml is None:
            toml = Path(os.environ.get(CONFIG_ENV, "config.toml"))
        if toml.exists():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml))
        return tuple(sources)

    @classmethod
    def load(cls, path: Path | None = None, *, read_env: bool = True, **overrides: Any) -> Settings:
        """Build settings from `path` (or the default file) and, unless told not to, the environment."""
        file_token = _toml_file.set(path)
        env_token = _read_env.set(read_env)
        try:
            return cls(**overrides)
        finally:
            _toml_file.reset(file_token)
            _read_env.reset(env_token)

    def templates_available(self) -> dict[str, tuple[RoundKind, ...]]:
        return {**BUILTIN_TEMPLATES, **{k: tuple(v) for k, v in self.templates.items()}}
