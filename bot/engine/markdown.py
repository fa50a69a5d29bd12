"""Member and AI text in Markdown, shown verbatim and unable to forge the document around it.

A decision record quotes what members and AI participants wrote. In Markdown, text decides
structure: a line break followed by `# Decision record #1: Approved` would give the record a
second title. Two helpers place text so that it can only ever be text:

- `quote(text)` makes a blockquote: every line of the text, whatever ends it (the line breaks
  Python's `str.splitlines` knows, U+2028, U+2029, NEL, form feed and vertical tab included),
  starts with `> `, and every character that could open a heading, list, table, code fence or
  span, link, HTML, emphasis or a nested quote is backslash-escaped;
- `inline(text)` makes a run of text for a line the renderer writes (a heading, a list item):
  the same escapes, and line breaks written as character references, so the line stays one line.

Escaping is CommonMark's own (a backslash before ASCII punctuation, numeric character references),
so any CommonMark or GitHub renderer shows the characters the member typed; the JSON record keeps
the text exactly. The property test in tests/engine/test_record_markdown.py parses records with
markdown-it-py to show that no text changes the document's outline.
"""

from __future__ import annotations

import re

# Every line break a reader, an editor or `str.splitlines` may honour (exactly the ones
# `str.splitlines` splits at); CommonMark itself only knows \n, \r and \r\n, but a record must
# look the same wherever it is opened.
LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
_LINE_BREAK = re.compile(f"[{LINE_BREAKS}]")

# Characters that open inline structure anywhere on a line: escapes, code spans, emphasis,
# links and images, HTML and autolinks, entities, table cells, strikethrough.
_ANYWHERE = re.compile(r"[\\`*_\[\]<&|~]")
_ANYWHERE_AND_HASH = re.compile(r"[\\`*_\[\]<&|~#]")
# Characters that open block structure at the start of a line: headings, quotes, list items,
# thematic breaks, setext underlines, table delimiter rows (`-`, `:` and `|`).
_LINE_START = frozenset("#>-+=:")
# An ordered list item: digits then `.` or `)`.
_ORDERED = re.compile(r"^(\d+)([.)])")
# Spaces and tabs at the edges of a line are layout to CommonMark (indentation makes code,
# trailing spaces a hard break); as character references they are only text.
_EDGE_SPACE = {" ": "&#32;", "\t": "&#9;"}


def split_lines(text: str) -> list[str]:
    """The text's lines, split at every line break (see `LINE_BREAKS`); at least one."""
    return text.splitlines() or [""]


def _backslash(match: re.Match[str]) -> str:
    return "\\" + match.group()


def _reference(match: re.Match[str]) -> str:
    return f"&#{ord(match.group())};"


def _escape(text: str, pattern: re.Pattern[str]) -> str:
    # Most text has nothing to escape, and a search is far cheaper than a substitution.
    return pattern.sub(_backslash, text) if pattern.search(text) else text


def _edges(escaped: str) -> str:
    """A line already escaped by `_ANYWHERE`, made safe where it starts and where it ends."""
    first = escaped[0]
    if first in _LINE_START:
        escaped = "\\" + escaped
    elif first in _EDGE_SPACE:
        escaped = _EDGE_SPACE[first] + escaped[1:]
    elif first.isdigit():
        escaped = _ORDERED.sub(r"\1\\\2", escaped, count=1)
    last = escaped[-1]
    if last in _EDGE_SPACE and len(escaped) > 1:
        escaped = escaped[:-1] + _EDGE_SPACE[last]
    return escaped


def quote(text: str) -> str:
    """The text as a blockquote, one `> ` line per line of text; empty text is an empty quote.

    Put a blank line after it: a line without `>` straight after a quote would continue it.
    """
    lines = split_lines(_escape(text, _ANYWHERE))
    return "\n".join("> " + _edges(line) if line else ">" for line in lines)


def inline(text: str) -> str:
    """The text as literal Markdown within one line: escaped, its line breaks as character references.

    `#` is escaped everywhere too, so a heading's closing `#`s cannot eat the end of the text.
    """
    if not text:
        return ""
    escaped = _edges(_escape(text, _ANYWHERE_AND_HASH))
    return _LINE_BREAK.sub(_reference, escaped) if _LINE_BREAK.search(escaped) else escaped
