"""The hash chain: each event's hash covers its content and the previous event's hash."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from datetime import datetime
from typing import Any

from bot.engine.events import Event, decode, encode
from bot.engine.model import Actor

GENESIS = "0" * 64


def canonical(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    # A lone surrogate (a name Discord passed through) cannot be encoded, hashed or stored: it
    # becomes U+FFFD, as in `stored_name`. Any other payload is unchanged, byte for byte.
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


_SURROGATE = re.compile("[\ud800-\udfff]")


def event_hash(
    prev_hash: str, stream: str, seq: int, kind: str, actor: str, actor_name: str, at: str, payload: str
) -> str:
    """Hash the stored text of an event, so that any edit to a stored field changes it."""
    h = hashlib.sha256()
    for part in (prev_hash, stream, str(seq), kind, actor, actor_name, at, payload):
        data = part.encode()
        # Length-prefix each field so that moving text between fields changes the hash too.
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def event_row(event: Event) -> tuple[str, str, str, str, str]:
    """(kind, actor key, actor name, time, payload) as stored."""
    name = stored_name(event.actor.name)
    return event.kind.value, event.actor.key, name, event.at.isoformat(), canonical(encode(event.payload))


def stored_name(name: str) -> str:
    """A display name as both backends can store it, identically: control characters (NUL, which
    PostgreSQL's text refuses, among them) dropped, a lone surrogate (not encodable) replaced by
    U+FFFD. Any other name is unchanged, so existing chains hash as before."""
    if name.isprintable() and name.isascii():
        return name
    # Surrogates are category Cs: each lone one becomes U+FFFD.
    return "".join("\ufffd" if unicodedata.category(c) == "Cs" else c for c in name if unicodedata.category(c) != "Cc")


def event_from_row(kind: str, actor: str, actor_name: str, at: str, payload: str) -> Event:
    """The typed event of a stored row (`MalformedEvent` if its payload does not fit its kind)."""
    return Event(Actor.from_key(actor, actor_name), datetime.fromisoformat(at), decode(kind, json.loads(payload)))
