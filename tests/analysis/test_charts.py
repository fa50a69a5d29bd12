"""Charts are valid PNGs of Discord-friendly size; pixels are not compared."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

from bot.analysis import analyze
from bot.analysis.charts import consent_chart_png, opinion_map_png

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG_SIGNATURE)
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR"
    assert length == 13
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def decoded_is_not_blank(data: bytes) -> bool:
    """Inflate the image data and check that not every byte is the same (not empty)."""
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(idat)
    return len(set(raw[1:4096])) > 2


def test_opinion_map_is_a_sensible_png(planted: Callable[..., tuple[list, dict]]) -> None:
    votes, _ = planted((30, 20, 15), 18, seed=7)
    data = opinion_map_png(analyze(votes))
    width, height = png_size(data)
    assert 600 <= width <= 1200
    assert 350 <= height <= 800
    assert width > height
    assert decoded_is_not_blank(data)


def test_opinion_map_renders_when_there_are_no_groups() -> None:
    data = opinion_map_png(analyze([(1, 1, 1), (1, 2, -1)]))
    assert png_size(data) == png_size(opinion_map_png(analyze([(1, 1, 1), (2, 1, 1)])))


def test_consent_chart_with_and_without_ai_stances() -> None:
    counts = {"endorse": 5, "reservations": 2, "stand_aside": 1, "block": 1}
    with_ai = consent_chart_png(counts, [("Claude · claude-3", "endorse")])
    without = consent_chart_png(counts, [])
    for data in (with_ai, without):
        width, height = png_size(data)
        assert 600 <= width <= 1200
        assert 350 <= height <= 800
        assert decoded_is_not_blank(data)
    assert with_ai != without, "AI stances must be drawn, apart from the tally"
