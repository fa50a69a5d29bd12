"""An exported record proves itself with no database: `python -m bot verify FILE.zip`."""

from __future__ import annotations

import asyncio
import base64
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.config import Settings
from bot.store.chain import event_hash
from bot.store.signing import Signer, head_message
from tests.conftest import ManualClock
from tests.store.test_verify_tampering import GUILD, OPEN, SEALED, build


@pytest.fixture
def exported(settings: Settings, clock: ManualClock, tmp_path: Path) -> Path:
    db = asyncio.run(build(settings, clock))
    out = tmp_path / "out"
    url = str(settings.database.database_url)
    assert db.exists() or settings.database.database_url.is_postgresql
    assert main(["export", "--guild", str(GUILD), "--format", "zip", "--out", str(out), "--db", url]) == 0
    (archive,) = out.iterdir()
    return archive


def rewrite(archive: Path, change: Callable[[dict[str, bytes]], None]) -> None:
    with zipfile.ZipFile(archive) as z:
        files = {name: z.read(name) for name in z.namelist()}
    change(files)
    with zipfile.ZipFile(archive, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["verify", *args])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_an_export_verifies_with_no_database(
    exported: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    with zipfile.ZipFile(exported) as z:
        names = set(z.namelist())
        proof = json.loads(z.read(f"records/{SEALED}.proof.json"))
    assert {f"records/{SEALED}.md", f"records/{SEALED}.json", f"records/{SEALED}.proof.json"} <= names
    assert f"records/{OPEN}.json" not in names  # only sealed records are exported
    assert proof["public_key"]
    assert proof["signature"]
    assert proof["events"][-1][1] == "deliberation.sealed"
    settings.database.path.unlink()  # no database anywhere near
    code, out = run(capsys, str(exported))
    assert code == 0, out
    assert "intact (1 records" in out
    code, out = run(capsys, str(exported), "--public-key", f"{settings.database.signing_key_path}.pub")
    assert code == 0, out
    assert "the given public key" in out


def _edit_json(name: str, change: Callable[[Any], None]) -> Callable[[dict[str, bytes]], None]:
    def edit(files: dict[str, bytes]) -> None:
        data = json.loads(files[name])
        change(data)
        files[name] = json.dumps(data).encode()

    return edit


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (
            _edit_json(f"records/{SEALED}.json", lambda r: r.update(question="Thursdays?")),
            "the record is not what its sealing event sealed",
        ),
        (
            _edit_json(f"records/{SEALED}.proof.json", lambda p: p["events"].pop()),
            "its chain head is not where its events end",
        ),
        (
            _edit_json(f"records/{SEALED}.proof.json", lambda p: p["events"][3].__setitem__(5, '{"x":1}')),
            "event seq 4",
        ),
        (
            lambda files: files.__setitem__(f"records/{SEALED}.md", files[f"records/{SEALED}.md"] + b"\nForged.\n"),
            "its Markdown differs from its record",
        ),
        (lambda files: files.pop(f"records/{SEALED}.proof.json"), "no proof"),
    ],
)
def test_an_edited_export_fails(
    exported: Path, capsys: pytest.CaptureFixture[str], change: Callable[[dict[str, bytes]], None], named: str
) -> None:
    rewrite(exported, change)
    code, out = run(capsys, str(exported))
    assert code == 1, out
    assert named in out


def _forge(files: dict[str, bytes], forger: Signer) -> None:
    """Rewrite the block's reason in events and record, re-hash the chain, re-sign with the forger's key."""
    proof = json.loads(files[f"records/{SEALED}.proof.json"])
    prev = "0" * 64
    stream = proof["stream"]
    for row in proof["events"]:
        row[5] = row[5].replace("Shift work", "No reason")
        seq, kind, actor, actor_name, at, payload = row[:6]
        row[6] = prev
        row[7] = prev = event_hash(prev, stream, seq, kind, actor, actor_name, at, payload)
    proof["head"]["hash"] = prev
    proof["public_key"] = base64.b64encode(forger.public_key).decode()
    proof["key_id"] = forger.key_id
    proof["signature"] = forger.sign(head_message(proof["guild_id"], stream, len(proof["events"]), prev))
    files[f"records/{SEALED}.proof.json"] = json.dumps(proof).encode()
    record = json.loads(files[f"records/{SEALED}.json"])
    record["chain_head"] = prev
    files[f"records/{SEALED}.json"] = json.dumps(record).encode()


def test_a_forged_export_signed_with_another_key_fails_against_the_bots_public_key(
    exported: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    rewrite(exported, lambda files: _forge(files, Signer.generate()))
    code, out = run(capsys, str(exported), "--public-key", f"{settings.database.signing_key_path}.pub")
    assert code == 1, out
    assert "signed with another key than the one given" in out
    assert "its signature does not hold" in out


def test_not_a_zip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "x.zip"
    junk.write_bytes(b"not a zip at all")
    code, out = run(capsys, str(junk))
    assert code == 2
    assert out.count("\n") == 1
    assert "not a Roundtable export" in out


def _set_outcome(files: dict[str, bytes]) -> None:
    index = json.loads(files["index.json"])
    index[0]["outcome"] = "consensus" if index[0]["outcome"] != "consensus" else "no_consensus"
    files["index.json"] = json.dumps(index).encode()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_set_outcome, "index.json: its entry for"),
        (lambda f: f.__setitem__("records/99.md", b"# Decision record #99: forged\n"), "records/99.md: not part of"),
        (lambda f: f.pop(f"records/{SEALED}.md"), f"records/{SEALED}.md: missing"),
        (lambda f: f.__setitem__("README.txt", b"Trust me."), "README.txt: not the text"),
    ],
)
def test_everything_in_an_export_is_checked_not_only_the_records(
    exported: Path, capsys: pytest.CaptureFixture[str], change: Callable[[dict[str, bytes]], None], expected: str
) -> None:
    rewrite(exported, change)
    code, out = run(capsys, str(exported))
    assert code == 1
    assert expected in out


def test_an_anonymous_record_that_cannot_be_checked_offline_is_never_called_intact(
    exported: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def anonymise(files: dict[str, bytes]) -> None:
        record = json.loads(files[f"records/{SEALED}.json"])
        record["anonymous"] = True  # as an anonymous record is exported: without its events
        files[f"records/{SEALED}.json"] = json.dumps(record).encode()
        files.pop(f"records/{SEALED}.proof.json")

    rewrite(exported, anonymise)
    code, out = run(capsys, str(exported))
    assert code == 1
    assert "cannot be checked offline" in out
    assert "intact (" not in out
