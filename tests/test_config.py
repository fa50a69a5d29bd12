"""Settings: the example file loads and documents every key; environment and code override."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from bot.config import Settings

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"


def test_example_config_loads_with_the_environment_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUNDTABLE__DELIBERATION__QUORUM", "99")
    settings = Settings.load(EXAMPLE, read_env=False)
    assert settings.deliberation.quorum == 3
    assert settings.discord.token is None
    assert [p.name for p in settings.ai.participants] == ["smollm"]


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        nested = next((a for a in (annotation, *args) if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if nested is not None:
            keys += _keys(nested, f"{prefix}{name}.")
        else:
            keys.append(f"{prefix}{name}")
    return keys


def test_example_config_documents_every_key() -> None:
    text = EXAMPLE.read_text()
    missing = []
    for key in _keys(Settings):
        leaf = key.rsplit(".", 1)[-1]
        pattern = r"^\[templates\]" if key == "templates" else rf"^#?\s*{re.escape(leaf)}\s*="
        if not re.search(pattern, text, re.MULTILINE):
            missing.append(key)
    assert missing == []


def test_environment_overrides_the_file_and_code_overrides_both(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUNDTABLE__DELIBERATION__QUORUM", "7")
    monkeypatch.setenv("ROUNDTABLE__DISCORD__TOKEN", "secret-token")
    settings = Settings.load(EXAMPLE)
    assert settings.deliberation.quorum == 7
    assert settings.discord.token is not None
    assert settings.discord.token.get_secret_value() == "secret-token"
    assert "secret-token" not in repr(settings)
    in_code = Settings.load(EXAMPLE, deliberation={"quorum": 4})
    assert in_code.deliberation.quorum == 4


def test_config_file_named_by_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.toml"
    path.write_text('[deliberation]\ntemplate = "quick"\n')
    monkeypatch.setenv("ROUNDTABLE_CONFIG", str(path))
    assert Settings().deliberation.template == "quick"


def test_custom_templates_are_offered_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[templates]\nobjections-first = ["positions", "dissent", "consent"]\n')
    settings = Settings.load(path, read_env=False)
    assert [k.value for k in settings.templates_available()["objections-first"]] == ["positions", "dissent", "consent"]
    path.write_text('[templates]\nbad = ["positions", "voting"]\n')
    with pytest.raises(ValidationError):
        Settings.load(path, read_env=False)
    with pytest.raises(ValidationError, match="built in"):
        Settings.load(read_env=False, templates={"quick": ["positions"]})
