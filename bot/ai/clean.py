"""Make model output safe to post in Discord: no pings, no disguised links, no hidden text, bounded length.

The Discord layer also sends with `allowed_mentions=none`; this is the second fence, so that
text copied out of a message or an export can never ping anyone either.

What members see is what the gate checks and what the record keeps: invisible characters
(Unicode format characters, category Cf: zero-width spaces and joiners, the BOM, direction
marks and overrides, and the tag characters U+E0000-U+E007F that can spell a hidden message)
are dropped, and Discord formatting that hides or disowns text (block quotes, spoilers,
strikethrough) is escaped so it shows as typed. Bullet lists ("- point") stay lists.
"""

from __future__ import annotations

import re
import unicodedata

from bot.engine.deliberation import BIDI_CONTROLS

ZWSP = "\u200b"

# @everyone / @here, user (<@id>, <@!id>), role (<@&id>) and channel (<#id>) mentions.
_MASS_MENTION = re.compile(r"@(everyone|here)\b", re.IGNORECASE)
_ID_MENTION = re.compile(r"<(@[!&]?|#)(\d+)>")
# Bare @id forms some clients still render.
_BARE_ID_MENTION = re.compile(r"@([!&]?\d{15,21})\b")
# [label](url) masked links hide where they go; show the target instead.
_MASKED_LINK = re.compile(r"\[([^\]\n]{0,200})\]\(\s*<?([^)\s>]+)>?[^)]*\)")
# Headings and subtext turn one line into a banner louder than the label above it.
_HEADING = re.compile(r"^([ \t]*)(#{1,3}|-#)(?=\s)", re.MULTILINE)
_MANY_NEWLINES = re.compile(r"\n{3,}")
# Bidirectional overrides can make text read differently from what it is (one table with members' text).
_BIDI = BIDI_CONTROLS
# `>` / `>>>` opening a line (after indentation or a list marker) quote it: shown as a member's
# voice rather than the AI's. Escaped, it shows as the character.
_BLOCK_QUOTE = re.compile(r"^([ \t]*(?:[-*+][ \t]+|\d{1,9}[.)][ \t]+)*)(>)", re.MULTILINE)
# Spoilers hide text until clicked; strikethrough shows text as withdrawn. Both escaped.
_SPOILER = re.compile(r"\|\|")
_STRIKE = re.compile(r"~~")


def strip_control(text: str) -> str:
    """Drop control characters (keeping newlines and tabs), bidi overrides and every other
    format character (Cf: zero-width characters, tags), so nothing unseen is carried along."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_BIDI)
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs", "Cf"))


def neutralise_mentions(text: str) -> str:
    """Break every mention with a zero-width space so it renders as plain text."""
    text = _MASS_MENTION.sub(lambda m: f"@{ZWSP}{m.group(1)}", text)
    text = _ID_MENTION.sub(lambda m: f"<{m.group(1)}{ZWSP}{m.group(2)}>", text)
    return _BARE_ID_MENTION.sub(lambda m: f"@{ZWSP}{m.group(1)}", text)


def safe_markdown(text: str) -> str:
    """Unmask links, flatten headings, escape block quotes, spoilers and strikethrough, and
    close an unbalanced code fence."""
    text = _MASKED_LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", text)
    text = _HEADING.sub(lambda m: m.group(1) + "\\" + m.group(2), text)
    text = _BLOCK_QUOTE.sub(lambda m: m.group(1) + "\\>", text)
    text = _SPOILER.sub(r"\\|\\|", text)
    text = _STRIKE.sub(r"\\~\\~", text)
    text = _MANY_NEWLINES.sub("\n\n", text)
    # An open fence would swallow whatever the bot posts after this text.
    if text.count("```") % 2:
        text += "\n```"
    return text


def clip(text: str, max_chars: int) -> str:
    """Cut to at most `max_chars`, at a word boundary when one is near, marked with '…'."""
    if len(text) <= max_chars:
        return text
    cut = text[: max(max_chars - 1, 0)]
    space = cut.rfind(" ")
    if space >= max_chars * 0.8:
        cut = cut[:space]
    return cut.rstrip() + "…"


def clean_text(text: str, max_chars: int) -> str:
    """The whole pipeline; the result never exceeds `max_chars` characters."""
    text = strip_control(text).strip()
    text = clip(text, max_chars)
    text = safe_markdown(neutralise_mentions(text))
    # Escaping and unmasking can lengthen the text; clip again without breaking a fence.
    if len(text) > max_chars:
        text = clip(text.replace("```", "'''"), max_chars)
    return text


def clean_line(text: str | None, max_chars: int) -> str | None:
    """A one-line field (stance, 'what I may be missing'); None when nothing is left."""
    if text is None:
        return None
    line = " ".join(strip_control(text).split())
    line = clean_text(line, max_chars)
    return line or None
