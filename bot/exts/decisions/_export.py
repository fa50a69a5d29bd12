"""`/decisions export`: a guild's sealed records as ZIP files of one `.md` and one `.json` each.

Layout of every archive (docs/dev/archive-dissent-ai.md):

    roundtable-<guild>-records[-partN].zip
        README.txt                 what the files are, how to verify them
        index.json                 [{deliberation_id, question, outcome, sealed_at, chain_head, files}]
        records/<id>.md            the record as posted, verbatim (render_markdown)
        records/<id>.json          the record as stored (compose_record) plus its `chain_head`
        records/<id>.proof.json    its events up to the seal, the signed head and the public key

Pure functions on plain data, run on a worker thread by the cog (zipping is CPU work).
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

from bot.engine.record import record_json

README = """Roundtable decision records
===========================

Each sealed decision record is here twice:

- records/<id>.md   - the human-readable record, as posted in Discord;
- records/<id>.json - the same record as data, with `chain_head`: the head of the
  hash-chained event log it was sealed with.

AI contributions are labelled in both (author kind "ai", participant name and model) and are
never counted in the tally. Anonymous deliberations show aliases only.

- records/<id>.proof.json - the deliberation's events up to its seal, the bot's Ed25519
  signature of the chain head, and the public key it was signed with.

index.json lists every record in this file. To check this archive with no database:

    python -m bot verify THIS-FILE.zip --public-key roundtable-signing.key.pub

(the public key file from the bot's operator; without it, the key carried in each proof is
used, which proves the records unchanged since signing but not who signed them).
"""


@dataclass(frozen=True)
class ExportRecord:
    deliberation_id: int
    record: dict[str, Any]
    markdown: str
    chain_head: str
    # Its events, signed head and public key (`Store.record_proof`): checkable with no database.
    proof: dict[str, Any] | None = None


@dataclass(frozen=True)
class ExportFile:
    filename: str
    data: bytes
    records: int


def _entries(item: ExportRecord) -> list[tuple[str, bytes]]:
    data = record_json({**item.record, "chain_head": item.chain_head}, pretty=True)
    entries = [
        (f"records/{item.deliberation_id}.md", item.markdown.encode()),
        (f"records/{item.deliberation_id}.json", data.encode()),
    ]
    if item.proof is not None:
        proof = json.dumps(item.proof, ensure_ascii=False, indent=1).encode()
        entries.append((f"records/{item.deliberation_id}.proof.json", proof))
    return entries


def index_row(deliberation_id: int, record: dict[str, Any]) -> dict[str, Any]:
    """A record's entry in index.json (`verify FILE.zip` checks each against its record)."""
    return {
        "deliberation_id": deliberation_id,
        "question": record.get("question", ""),
        "outcome": record.get("outcome", {}).get("kind"),
        "closed_at": record.get("closed_at"),
        "chain_head": record.get("chain_head"),
    }


class _Part:
    def __init__(self) -> None:
        self.buffer = io.BytesIO()
        self.archive = zipfile.ZipFile(self.buffer, "w", compression=zipfile.ZIP_DEFLATED)
        self.archive.writestr("README.txt", README)
        self.index: list[dict[str, Any]] = []

    def add(self, item: ExportRecord) -> None:
        files = _entries(item)
        for name, data in files:
            self.archive.writestr(name, data)
        row = index_row(item.deliberation_id, {**item.record, "chain_head": item.chain_head})
        self.index.append({**row, "files": [n for n, _ in files]})

    @property
    def size(self) -> int:
        return self.buffer.tell()

    def close(self) -> bytes:
        self.archive.writestr("index.json", json.dumps(self.index, ensure_ascii=False, indent=2))
        self.archive.close()
        return self.buffer.getvalue()


# Room left for index.json and the central directory when deciding to start a new part.
_HEADROOM = 0.8


def build_export(guild_id: int, records: list[ExportRecord], max_bytes: int) -> list[ExportFile]:
    """ZIP archives of `records` in order, a new part whenever one would pass `max_bytes`.

    A single record too large on its own still gets its own part: the caller reports the upload
    failure rather than silently dropping it.
    """
    parts: list[tuple[bytes, int]] = []
    part = _Part()
    for item in records:
        if part.index and part.size + sum(len(d) for _, d in _entries(item)) // 3 > max_bytes * _HEADROOM:
            parts.append((part.close(), len(part.index)))
            part = _Part()
        part.add(item)
    if part.index:
        parts.append((part.close(), len(part.index)))
    if len(parts) == 1:
        return [ExportFile(f"roundtable-{guild_id}-records.zip", parts[0][0], parts[0][1])]
    return [
        ExportFile(f"roundtable-{guild_id}-records-part{n}.zip", data, count)
        for n, (data, count) in enumerate(parts, start=1)
    ]
