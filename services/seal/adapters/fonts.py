"""CJK TrueType fonts from Debian's packages, registered with ReportLab and embedded (subset) in
every PDF the service draws; :func:`subset_ttf` makes the subset an OFD notice embeds (fontTools).

Song (宋体-style, fonts-arphic-gbsn00lp) is what official notices and seal lettering use; the
WenQuanYi Micro Hei sans (fonts-wqy-microhei) is the fallback. ``SEAL_CJK_FONT`` may name another
.ttf/.ttc file (``path`` or ``path#index`` for a collection).
"""

from __future__ import annotations

import io
import logging
import os
import struct
import threading
from functools import cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

#: The ReportLab name every renderer uses.
FONT_NAME = "OneWindowCJK"

_CANDIDATES: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
)


class FontMissing(RuntimeError):
    """No CJK TrueType font is installed (see deploy/apt-packages.txt)."""


def _configured() -> list[tuple[str, int]]:
    override = os.environ.get("SEAL_CJK_FONT")
    if not override:
        return list(_CANDIDATES)
    path, _, index = override.partition("#")
    return [(path, int(index or 0))]


@cache
def cjk_font() -> str:
    """Register the CJK font once and return its ReportLab name."""
    for path, index in _configured():
        if Path(path).is_file():
            kwargs = {"subfontIndex": index} if path.lower().endswith(".ttc") else {}
            pdfmetrics.registerFont(TTFont(FONT_NAME, path, **kwargs))
            return FONT_NAME
    raise FontMissing(
        "no CJK TrueType font found; install fonts-arphic-gbsn00lp or fonts-wqy-microhei"
    )


@cache
def cjk_font_file() -> tuple[str, int]:
    """The CJK font's file and face index (for rasterising with Pillow: the OFD seal's PNG)."""
    for path, index in _configured():
        if Path(path).is_file():
            return path, index
    raise FontMissing(
        "no CJK TrueType font found; install fonts-arphic-gbsn00lp or fonts-wqy-microhei"
    )


def _unhinted(data: bytes) -> bytes:
    """A simple TrueType glyph's data without its instructions (the coordinates untouched): a
    subset carries no font programs, so the hints would be meaningless."""
    if len(data) < 12:
        return data  # an empty glyph
    contours = struct.unpack(">h", data[:2])[0]
    at = 10 + 2 * contours
    length = struct.unpack(">H", data[at:at + 2])[0]
    return data[:at] + b"\0\0" + data[at + 2 + length:]


class _Master:
    """The CJK font read once (fontTools): its cmap, each glyph's TrueType data as stored (hints
    removed), metrics and vertical figures — what a subset is built from without parsing the 5 MB
    file again. Composite glyphs (WenQuanYi has many; the Arphic Song none) are drawn flat on
    first use: their parts' glyph ids would not survive the subset."""

    def __init__(self, path: str, index: int) -> None:
        from fontTools.ttLib import TTFont

        quiet = logging.getLogger("fontTools")
        level = quiet.level
        quiet.setLevel(logging.ERROR)  # the Arphic font's padded glyf table is noted, harmless
        try:
            font = TTFont(path, fontNumber=index, lazy=True)
            glyf = font["glyf"]
            self.cmap: dict[int, str] = dict(font.getBestCmap())
            self.units_per_em: int = font["head"].unitsPerEm
            self.metrics: dict[str, tuple[int, int]] = dict(font["hmtx"].metrics)
            self.hhea = (font["hhea"].ascent, font["hhea"].descent, font["hhea"].lineGap)
            os2 = font["OS/2"]
            self.os2 = {k: getattr(os2, k) for k in (
                "sTypoAscender", "sTypoDescender", "sTypoLineGap", "usWinAscent", "usWinDescent", "usWeightClass",
                "achVendID", "ulCodePageRange1", "ulCodePageRange2", "panose")}
            self.family = font["name"].getBestFamilyName() or "OneWindow CJK"
            self.data: dict[str, bytes] = {}
            self.composite: set[str] = set()
            notdef = font.getGlyphOrder()[0]  # glyph 0, whatever the font calls it
            self.metrics[".notdef"] = self.metrics[notdef]
            for name in {".notdef", *self.cmap.values()}:
                stored = glyf.glyphs[notdef if name == ".notdef" else name]  # as stored: glyf[name] would decode it
                data = getattr(stored, "data", None)
                if data is None:
                    data = stored.compile(glyf, recalcBBoxes=False)
                if len(data) >= 2 and struct.unpack(">h", data[:2])[0] < 0:
                    self.composite.add(name)
                    self.data[name] = data
                else:
                    self.data[name] = _unhinted(data)
            self._font = font
            self._lock = threading.Lock()
        finally:
            quiet.setLevel(level)

    def glyph_data(self, name: str) -> bytes:
        if name not in self.composite:
            return self.data[name]
        from fontTools.pens.recordingPen import DecomposingRecordingPen
        from fontTools.pens.ttGlyphPen import TTGlyphPen

        with self._lock:  # drawing decodes glyphs of the shared font
            if name in self.composite:
                rec = DecomposingRecordingPen(self._font.getGlyphSet())
                self._font.getGlyphSet()[name].draw(rec)
                pen = TTGlyphPen(None)
                rec.replay(pen)
                flat = pen.glyph()
                flat.recalcBounds(None)
                self.data[name] = flat.compile(None, recalcBBoxes=False)
                self.composite.discard(name)
            return self.data[name]


@cache
def _master(path: str, index: int) -> _Master:
    return _Master(path, index)


def subset_ttf(text: str, font: tuple[str, int] | None = None) -> bytes:
    """A TrueType font holding the CJK font's glyphs for ``text`` (and .notdef), to embed in an
    OFD (GB/T 33190 ``FontFile``) so that a reader without our font draws the same letters.
    Built with fontTools' FontBuilder from the font read once, each glyph's outline copied as
    stored (fontTools' subsetter would parse the whole 5 MB font and recompile every outline on
    each notice: ~10× slower). ``font``: another (path, face index) than the service's CJK font."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.ttLib import newTable
    from fontTools.ttLib.tables._g_l_y_f import Glyph

    m = _master(*(font or cjk_font_file()))
    cmap = {ord(ch): m.cmap[ord(ch)] for ch in set(text) if ord(ch) in m.cmap}
    order = [".notdef", *sorted(set(cmap.values()) - {".notdef"})]
    fb = FontBuilder(m.units_per_em, isTTF=True)
    fb.font.recalcBBoxes = False  # the stored outlines keep their own boxes; head's is set below
    fb.setupGlyphOrder(order)
    fb.setupCharacterMap(cmap)
    # FontBuilder.setupGlyf would decode every outline to look for cubic curves (TrueType has none)
    fb.font["loca"], fb.font["glyf"] = newTable("loca"), newTable("glyf")
    data = {name: m.glyph_data(name) for name in order}
    fb.font["glyf"].glyphs = {name: Glyph(data[name]) for name in order}
    fb.font["glyf"].glyphOrder = order
    fb.setupHorizontalMetrics({n: m.metrics[n] for n in order})
    ascent, descent, gap = m.hhea
    fb.setupHorizontalHeader(ascent=ascent, descent=descent, lineGap=gap)
    fb.setupNameTable({"familyName": m.family, "styleName": "Regular"})
    fb.setupOS2(**m.os2)
    fb.setupPost()
    boxes = [struct.unpack(">4h", d[2:10]) for d in data.values() if len(d) >= 10]
    points = [struct.unpack(">H", d[8 + 2 * c:10 + 2 * c])[0] + 1
              for d in data.values() if len(d) >= 12 and (c := struct.unpack(">h", d[:2])[0]) > 0]
    head, maxp = fb.font["head"], fb.font["maxp"]
    if boxes:
        head.xMin, head.yMin = min(b[0] for b in boxes), min(b[1] for b in boxes)
        head.xMax, head.yMax = max(b[2] for b in boxes), max(b[3] for b in boxes)
    maxp.maxPoints = max(points, default=0)
    maxp.maxContours = max((struct.unpack(">h", d[:2])[0] for d in data.values() if len(d) >= 2), default=0)
    out = io.BytesIO()
    fb.save(out)
    return out.getvalue()
