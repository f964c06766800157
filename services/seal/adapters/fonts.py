"""CJK TrueType fonts from Debian's packages, registered with ReportLab and embedded (subset) in
every PDF the service draws.

Song (宋体-style, fonts-arphic-gbsn00lp) is what official notices and seal lettering use; the
WenQuanYi Micro Hei sans (fonts-wqy-microhei) is the fallback. ``SEAL_CJK_FONT`` may name another
.ttf/.ttc file (``path`` or ``path#index`` for a collection).
"""

from __future__ import annotations

import os
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
