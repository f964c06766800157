"""Lay a notice out as an A4 PDF with ReportLab, the CJK font embedded, and a blank box where the
unit's No. 2 seal goes (over the signer and the date, as seals are placed on Chinese official
documents). The box's position is returned so the seal service can stamp exactly there.

Layout follows the usual form of administrative licensing notices (after GB/T 9704-2012 for
official documents): the issuing authority and the title centered, the document number under
them, the addressee flush left, paragraphs indented by two characters, the signer and the date at
the bottom right.
"""

from __future__ import annotations

import io
import os
import threading
from dataclasses import dataclass
from functools import lru_cache

from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, KeepTogether, Paragraph, SimpleDocTemplate, Spacer
from xml.sax.saxutils import escape

from .rendering import NoticeDocument

#: Debian's fonts-wqy-microhei (deploy/apt-packages.txt). Override with ONEWINDOW_NOTIFY_CJK_FONT.
DEFAULT_FONT_PATH = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
FONT_NAME = "OneWindowCJK"

SEAL_SIZE = 42 * mm  # the usual diameter of an administrative seal


class FontMissing(RuntimeError):
    pass


@lru_cache(maxsize=1)
def register_font(path: str | None = None) -> str:
    path = path or os.environ.get("ONEWINDOW_NOTIFY_CJK_FONT") or DEFAULT_FONT_PATH
    if not os.path.exists(path):
        raise FontMissing(f"CJK font not found at {path} (install fonts-wqy-microhei)")
    kwargs = {"subfontIndex": 0} if path.lower().endswith(".ttc") else {}
    pdfmetrics.registerFont(TTFont(FONT_NAME, path, **kwargs))
    return FONT_NAME


@dataclass(frozen=True)
class SealBox:
    """Where the seal goes, in PDF points from the bottom-left corner of ``page`` (1-based)."""

    page: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class RenderedNotice:
    pdf: bytes
    seal_box: SealBox
    pages: int


def _styles(font: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=font, fontSize=14, leading=24, wordWrap="CJK", alignment=TA_JUSTIFY)
    return {
        "issuer": ParagraphStyle("issuer", parent=base, fontSize=18, leading=26, alignment=TA_CENTER),
        "number": ParagraphStyle("number", parent=base, fontSize=13, leading=22, alignment=TA_CENTER),
        "addressee": ParagraphStyle("addressee", parent=base, alignment=TA_LEFT, spaceBefore=10),
        "p": ParagraphStyle("p", parent=base, firstLineIndent=28),
        "plain": ParagraphStyle("plain", parent=base),
        "heading": ParagraphStyle("heading", parent=base, spaceBefore=4),
        "item": ParagraphStyle("item", parent=base, leftIndent=28 + 14, firstLineIndent=-14),
        "note": ParagraphStyle("note", parent=base, fontSize=10.5, leading=16, alignment=TA_LEFT),
    }


class _Title(Flowable):
    """The title, centered, letter-spaced and in faux bold (the embedded font has one weight:
    stroke plus fill thickens it)."""

    def __init__(self, text: str, font: str, size: float = 22) -> None:
        super().__init__()
        self.text, self.font, self.size = text, font, size

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width = avail_width
        return avail_width, self.size * 1.9

    def draw(self) -> None:
        c = self.canv
        spacing = self.size * 0.25 if len(self.text) <= 8 else 0
        width = pdfmetrics.stringWidth(self.text, self.font, self.size) + spacing * (len(self.text) - 1)
        t = c.beginText()
        t.setFont(self.font, self.size)
        t.setCharSpace(spacing)
        t.setTextRenderMode(2)
        c.setLineWidth(0.5)
        t.setTextOrigin((self.width - width) / 2, self.size * 0.6)
        t.textOut(self.text)
        c.drawText(t)


class _Signature(Flowable):
    """Signer and date flush right, with room above and around for the seal; records where the
    seal box landed on the page."""

    def __init__(self, signer: str, date: str, font: str, size: float, on_place, outline: bool = False) -> None:
        super().__init__()
        self.outline = outline
        self.signer, self.date, self.font, self.size = signer, date, font, size
        self.on_place = on_place
        self.right_margin = 2 * size  # two characters in from the right edge, as is customary

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width = avail_width
        # Only the two lines take room; the seal reaches into the spaces above and below them.
        self.height = self.size * 5
        return avail_width, self.height

    def draw(self) -> None:
        c = self.canv
        c.setFont(self.font, self.size)
        signer_w = pdfmetrics.stringWidth(self.signer, self.font, self.size)
        date_w = pdfmetrics.stringWidth(self.date, self.font, self.size)
        block_w = max(signer_w, date_w)
        right = self.width - self.right_margin
        center_x = right - block_w / 2
        signer_y = self.height / 2 + 4
        date_y = signer_y - self.size * 1.8
        c.drawCentredString(center_x, signer_y, self.signer)
        c.drawCentredString(center_x, date_y, self.date)
        # The seal straddles the signer and the date (center between the two lines).
        seal_cx, seal_cy = center_x, (signer_y + date_y) / 2 + self.size * 0.35
        if self.outline:  # previews only: the real notice leaves the place blank for the seal
            c.saveState()
            c.setDash(3, 3)
            c.setStrokeColorRGB(0.8, 0.1, 0.1)
            c.circle(seal_cx, seal_cy, SEAL_SIZE / 2)
            c.restoreState()
        x0, y0 = c.absolutePosition(seal_cx - SEAL_SIZE / 2, seal_cy - SEAL_SIZE / 2)
        self.on_place(SealBox(c.getPageNumber(), round(x0, 2), round(y0, 2), round(SEAL_SIZE, 2), round(SEAL_SIZE, 2)))


#: ReportLab keeps a registered TrueType font's subsetting state on the font object itself, shared
#: by every document: two notices rendered at once in threads (``asyncio.to_thread``) corrupted
#: each other's subsets (a ``KeyError`` for a character code under load). One render at a time —
#: rendering holds the GIL anyway, so little is lost.
_RENDER_LOCK = threading.Lock()


def render_pdf(doc: NoticeDocument, *, font_path: str | None = None, author: str = "",
               outline_seal: bool = False) -> RenderedNotice:
    """Render ``doc``; ``outline_seal`` draws the seal box as a dashed circle (previews only)."""
    with _RENDER_LOCK:
        return _render_pdf(doc, font_path=font_path, author=author, outline_seal=outline_seal)


def _render_pdf(doc: NoticeDocument, *, font_path: str | None, author: str, outline_seal: bool) -> RenderedNotice:
    font = register_font(font_path)
    st = _styles(font)
    buf = io.BytesIO()
    placed: list[SealBox] = []
    pdf = SimpleDocTemplate(
        buf, pagesize=A4, leftMargin=28 * mm, rightMargin=26 * mm, topMargin=25 * mm, bottomMargin=20 * mm,
        title=f"{doc.title} {doc.number}", author=author or doc.signer, subject=doc.title, creator="OneWindow notify",
    )
    story: list[Flowable] = []
    if doc.issuer:
        story.append(Paragraph(escape(doc.issuer), st["issuer"]))
    story.append(_Title(doc.title, font))
    if doc.number:
        story.append(Paragraph(escape(doc.number), st["number"]))
    if doc.addressee:
        story.append(Paragraph(escape(doc.addressee), st["addressee"]))
    body = [Paragraph(escape(b.text), st[b.kind]) for b in doc.blocks]
    # The last paragraph stays with the signature: a seal alone on a page is not acceptable.
    story.extend(body[:-1])
    tail: list[Flowable] = body[-1:] + [Spacer(1, 30), _Signature(doc.signer, doc.date, font, 14, placed.append, outline_seal)]
    story.append(KeepTogether(tail))
    if doc.notes:
        story.append(Spacer(1, 36))
        story.append(_Rule())
        story.extend(Paragraph(escape(n), st["note"]) for n in doc.notes)
    pdf.build(story)
    data = buf.getvalue()
    if not placed:
        raise RuntimeError("signature block was not placed")
    return RenderedNotice(data, placed[-1], pdf.page)


class _Rule(Flowable):
    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width = avail_width
        return avail_width, 6

    def draw(self) -> None:
        self.canv.setLineWidth(0.5)
        self.canv.line(0, 4, self.width, 4)
