"""The operator's CLI, run as a user would: `python -m bot ...` in a subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import Settings
from bot.service import Roundtable
from tests.conftest import ManualClock
from tests.store.test_store import GUILD, OTHER_GUILD, sealed_quick, tamper

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ROUNDTABLE")}
    clean["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
async def archive(settings: Settings, clock: ManualClock, db_path: Path) -> Path:
    rt = await Roundtable.open(settings, clock)
    await sealed_quick(rt, clock, GUILD, "Move to Fridays?")
    await sealed_quick(rt, clock, GUILD, "Buy a projector?")
    await sealed_quick(rt, clock, OTHER_GUILD, "Another server's question")
    await rt.close()
    return db_path


def test_run_without_a_token_says_how_to_set_one(tmp_path: Path) -> None:
    result = cli("run", cwd=tmp_path)
    assert result.returncode == 2
    assert "ROUNDTABLE__DISCORD__TOKEN" in result.stderr
    assert "make sandbox" in result.stderr


def test_verify_passes_then_names_the_tampered_event(archive: Path, tmp_path: Path) -> None:
    ok = cli("verify", "--db", str(archive), cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "intact" in ok.stdout
    assert "3 sealed records" in ok.stdout
    tamper(archive, "UPDATE events SET payload = replace(payload, 'Shift work', 'Happy') WHERE stream = 'd:2'")
    bad = cli("verify", "--db", str(archive), cwd=tmp_path)
    assert bad.returncode == 1
    assert "NOT intact" in bad.stderr
    assert "d:2: event" in bad.stderr
    assert "consent.given" in bad.stderr


def test_export_writes_one_file_per_record_of_that_guild_only(archive: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = cli(
        "export", "--guild", str(GUILD), "--format", "json", "--out", str(out), "--db", str(archive), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    files = sorted(p.name for p in out.iterdir())
    assert files == ["decision-1.json", "decision-1.proof.json", "decision-2.json", "decision-2.proof.json"]
    record = json.loads((out / "decision-1.json").read_text())
    assert record["question"] == "Move to Fridays?"
    assert record["standing_objections"][0]["why"] == "Shift work"
    md = tmp_path / "md"
    result = cli("export", "--guild", str(GUILD), "--out", str(md), "--db", str(archive), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "> Shift work" in (md / "decision-2.md").read_text()


def test_db_upgrade_migrates_a_new_file(tmp_path: Path) -> None:
    db = tmp_path / "new.sqlite3"
    result = cli("db", "upgrade", "--db", str(db), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "schema version 0 ->" in result.stdout
    version = sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0]
    assert version >= 1
    again = cli("db", "upgrade", "--db", str(db), cwd=tmp_path)
    assert "up to date" in again.stdout


@pytest.mark.parametrize("command", [[], ["run"], ["verify"], ["export"], ["db", "upgrade"], ["sandbox"]])
def test_every_command_has_help(command: list[str], tmp_path: Path) -> None:
    result = cli(*command, "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "usage: python -m bot" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["sandbox", "--speed", "nan"],
        ["sandbox", "--speed", "-5"],
        ["sandbox", "--port", "99999"],
        ["archive", "serve", "--guild", "1", "--port", "-1"],
    ],
)
def test_bad_options_are_refused_in_one_line(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "is not a" in err


def test_a_read_only_command_never_writes_to_a_file_it_is_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    for command in (["archive", "build", "--guild", "1", "--out", str(tmp_path / "site"), "--no-charts"],):
        assert main([*command, "--db", str(empty)]) == 2
        assert empty.read_bytes() == b""
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert "not a Roundtable database" in err


def test_an_output_path_that_cannot_be_written_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], settings: Settings
) -> None:
    async def make() -> None:
        rt = await Roundtable.open(settings)
        await rt.configure_guild(7, 1, moderator_role_id=2)
        await rt.close()

    asyncio.run(make())
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    code = main(
        ["export", "--guild", "7", "--format", "json", "--out", str(blocker), "--db", str(settings.database.path)]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert err.count("\n") == 1
