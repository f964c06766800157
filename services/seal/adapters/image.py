"""The seal's picture, drawn from the unit's name as vector graphics (ReportLab): a red ring, a
five-pointed star in the middle, the unit's name along the upper arc (each character turned to
the arc, tall and narrow as on a carved seal), the seal's name (行政审批专用章) below the star and
its number (the Arabic numeral 2 of the 2号章) at the bottom.

The result is a one-page PDF (the signature field's appearance imports it as a form XObject, so
the seal stays vector and its font subset embedded) or an SVG for web pages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from reportlab.graphics import renderPDF, renderSVG
from reportlab.graphics.shapes import Circle, Drawing, Group, Polygon, String
from reportlab.lib.attrmap import AttrMap, AttrMapValue
from reportlab.lib.colors import Color
from reportlab.lib.validators import isColorOrNone, isNumber
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics

from .fonts import cjk_font

#: The official seal red (印泥红).
SEAL_RED = Color(0.84, 0.0, 0.06)
#: 42 mm, the usual diameter of a unit's round seal.
DEFAULT_DIAMETER = 42 * mm


@dataclass(frozen=True)
class SealFace:
    """What is written on a seal."""

    unit_name: str
    seal_name: str = "行政审批专用章"
    number: str | None = "2"
    diameter: float = DEFAULT_DIAMETER


class _InkString(String):
    """A string filled and outlined in the same red (text render mode 2): a carved seal's strokes
    are bolder than the Song face's light ones."""

    _attrMap = AttrMap(
        BASE=String,
        strokeColor=AttrMapValue(isColorOrNone, desc="outline colour"),
        strokeWidth=AttrMapValue(isNumber, desc="outline width"),
    )


def _ink(text: str, size: float, font: str, weight: float = 0.045) -> _InkString:
    s = _InkString(0, 0, text, fontName=font, fontSize=size, fillColor=SEAL_RED, textAnchor="middle")
    s.textRenderMode = 2
    s.strokeColor = SEAL_RED
    s.strokeWidth = size * weight
    return s


def _star(cx: float, cy: float, r_outer: float) -> Polygon:
    r_inner = r_outer * math.sin(math.radians(18)) / math.sin(math.radians(54))
    points: list[float] = []
    for i in range(10):
        r = r_outer if i % 2 == 0 else r_inner
        a = math.radians(90 + i * 36)
        points += [cx + r * math.cos(a), cy + r * math.sin(a)]
    return Polygon(points, fillColor=SEAL_RED, strokeColor=None, strokeWidth=0)


#: The ring's lettering is narrowed to this share of its width, and neighbours keep this much room.
_NARROW = 0.78
_GAP = 1.08


def _arc_text(name: str, cx: float, cy: float, d: float, font: str) -> Group:
    """The unit's name clockwise along the upper arc, tops of the characters outward."""
    g = Group()
    n = len(name)
    if n == 0:
        return g
    span = min(215.0 + max(0, n - 12) * 2.0, 26.0 * n, 228.0)  # degrees; long names fill more of the ring
    step = span / n
    font_size = d * (0.135 if n <= 10 else 0.135 * math.sqrt(10 / n))
    # Long names: small enough that neighbours do not touch. A glyph is _NARROW * size wide and
    # sits on a baseline of radius r = top - 0.85 * size; its share of the arc is step * r.
    top = d * 0.5 - d * 0.075
    step_rad = math.radians(step)
    font_size = min(font_size, step_rad * top / (_NARROW * _GAP + 0.85 * step_rad))
    baseline_r = top - font_size * 0.85
    for i, ch in enumerate(name):
        angle = 90 + span / 2 - step * (i + 0.5)
        a = math.radians(angle)
        x, y = cx + baseline_r * math.cos(a), cy + baseline_r * math.sin(a)
        glyph = Group(_ink(ch, font_size, font))
        # narrow the glyph (carved-seal lettering), then turn it to face outward
        glyph.transform = (_NARROW, 0, 0, 1, 0, 0)
        outer = Group(glyph)
        outer.translate(x, y)
        outer.rotate(angle - 90)
        g.add(outer)
    return g


def _line(text: str, cx: float, y: float, size: float, font: str, narrow: float = 0.85) -> Group:
    g = Group(_ink(text, size, font))
    g.transform = (narrow, 0, 0, 1, cx, y)
    return g


def drawing(face: SealFace) -> Drawing:
    font = cjk_font()
    d = face.diameter
    c = d / 2
    ring = d * 0.035
    dr = Drawing(d, d)
    dr.add(Circle(c, c, c - ring / 2, strokeColor=SEAL_RED, strokeWidth=ring, fillColor=None))
    dr.add(_star(c, c + d * 0.02, d * 0.165))
    dr.add(_arc_text(face.unit_name, c, c, d, font))
    if face.seal_name:
        size = d * 0.095 if len(face.seal_name) <= 7 else d * 0.095 * 7 / len(face.seal_name)
        dr.add(_line(face.seal_name, c, c - d * 0.235, size, font))
    if face.number:
        dr.add(_line(face.number, c, c - d * 0.375, d * 0.085, font, narrow=1.0))
    return dr


def undrawable(text: str) -> str:
    """The characters of ``text`` the seal's font has no glyph for (in order, once each): a seal
    would show them as empty boxes, so a name holding any is refused."""
    glyphs = pdfmetrics.getFont(cjk_font()).face.charToGlyph
    return "".join(dict.fromkeys(c for c in text if ord(c) not in glyphs))


def seal_pdf(face: SealFace) -> bytes:
    """The seal as a one-page PDF exactly the seal's size."""
    return renderPDF.drawToString(drawing(face))


def seal_svg(face: SealFace) -> str:
    return renderSVG.drawToString(drawing(face))


def seal_png(face: SealFace, *, px_per_mm: float = 10.0) -> bytes:
    """The seal as a PNG with a transparent background (the picture inside a GB/T 38540 seal,
    which OFD readers draw at the stamp's place): the same geometry as :func:`drawing`, rasterised
    with Pillow (ReportLab's bitmap renderer needs Cairo)."""
    from io import BytesIO

    from PIL import Image, ImageDraw, ImageFont

    from .fonts import cjk_font_file

    path, index = cjk_font_file()
    scale = px_per_mm / mm  # pixels per point
    d_pt = face.diameter
    size = max(int(round(d_pt * scale)), 16)
    red = (214, 0, 15, 255)
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    ring = d_pt * 0.035 * scale

    def to_px(x_pt: float, y_pt: float) -> tuple[float, float]:  # drawing points (y up) -> pixels
        return x_pt * scale, size - y_pt * scale

    draw.ellipse((ring / 2, ring / 2, size - ring / 2, size - ring / 2), outline=red, width=max(int(ring), 1))
    # the star
    cx_pt, cy_pt = d_pt / 2, d_pt / 2 + d_pt * 0.02
    r_outer = d_pt * 0.165
    r_inner = r_outer * math.sin(math.radians(18)) / math.sin(math.radians(54))
    pts = []
    for i in range(10):
        r = r_outer if i % 2 == 0 else r_inner
        a = math.radians(90 + i * 36)
        pts.append(to_px(cx_pt + r * math.cos(a), cy_pt + r * math.sin(a)))
    draw.polygon(pts, fill=red)

    def glyph(text: str, size_pt: float, narrow: float) -> Image.Image:
        font = ImageFont.truetype(path, max(int(size_pt * scale), 4), index=index)
        left, top, right, bottom = font.getbbox(text)
        w, h = right - left, bottom - top
        g = Image.new("RGBA", (max(w, 1) + 4, max(h, 1) + 4), (0, 0, 0, 0))
        stroke = max(int(size_pt * scale * 0.03), 0)
        ImageDraw.Draw(g).text((2 - left, 2 - top), text, font=font, fill=red, stroke_width=stroke,
                               stroke_fill=red)
        return g.resize((max(int(g.width * narrow), 1), g.height))

    # the unit's name along the upper arc (as _arc_text)
    name = face.unit_name
    n = len(name)
    if n:
        span = min(215.0 + max(0, n - 12) * 2.0, 26.0 * n, 228.0)
        step = span / n
        font_size = d_pt * (0.135 if n <= 10 else 0.135 * math.sqrt(10 / n))
        top = d_pt * 0.5 - d_pt * 0.075
        step_rad = math.radians(step)
        font_size = min(font_size, step_rad * top / (_NARROW * _GAP + 0.85 * step_rad))
        mid_r = top - font_size * 0.85 + font_size * 0.4
        for i, ch in enumerate(name):
            angle = 90 + span / 2 - step * (i + 0.5)
            a = math.radians(angle)
            g = glyph(ch, font_size, _NARROW).rotate(angle - 90, expand=True, resample=Image.BICUBIC)
            x, y = to_px(d_pt / 2 + mid_r * math.cos(a), d_pt / 2 + mid_r * math.sin(a))
            img.alpha_composite(g, (int(x - g.width / 2), int(y - g.height / 2)))
    if face.seal_name:
        s = d_pt * 0.095 if len(face.seal_name) <= 7 else d_pt * 0.095 * 7 / len(face.seal_name)
        g = glyph(face.seal_name, s, 0.85)
        x, y = to_px(d_pt / 2, d_pt / 2 - d_pt * 0.235 + s * 0.4)
        img.alpha_composite(g, (int(x - g.width / 2), int(y - g.height / 2)))
    if face.number:
        s = d_pt * 0.085
        g = glyph(face.number, s, 1.0)
        x, y = to_px(d_pt / 2, d_pt / 2 - d_pt * 0.375 + s * 0.4)
        img.alpha_composite(g, (int(x - g.width / 2), int(y - g.height / 2)))
    out = BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()
