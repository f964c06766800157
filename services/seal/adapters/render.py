"""A plain notice (通知书) as a PDF, for stamp requests that send content rather than a PDF:
title, numbers, addressee, body paragraphs, and the issuing unit and date at the bottom right,
where the seal is then placed over them as on a paper notice. Chinese text uses the embedded CJK
TrueType font (see fonts.py); ReportLab's CJK word wrap breaks lines between characters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from io import BytesIO

from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer
from xml.sax.saxutils import escape

from .fonts import cjk_font
from .image import DEFAULT_DIAMETER
from .signing import SealBox


@dataclass(frozen=True)
class Notice:
    title: str
    unit_name: str
    paragraphs: list[str]
    issued_on: date
    addressee: str | None = None
    numbers: list[tuple[str, str]] = field(default_factory=list)  # (label, value), e.g. 受理编号
    footer: str | None = None


def chinese_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


class _SignatureBlock(Flowable):
    """The issuing unit over the date, right-aligned; remembers where it was drawn so that the
    seal can be centred on it."""

    def __init__(self, unit_name: str, date_text: str, font: str, size: float, right_indent: float) -> None:
        super().__init__()
        self.unit_name, self.date_text = unit_name, date_text
        self.font, self.size, self.right_indent = font, size, right_indent
        self.leading = size * 1.75
        self.placed: tuple[int, float, float] | None = None  # page index, centre x, centre y

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width = avail_width
        self.height = self.leading * 2
        return self.width, self.height

    def draw(self) -> None:
        c = self.canv
        c.setFont(self.font, self.size)
        date_w = c.stringWidth(self.date_text, self.font, self.size)
        unit_w = c.stringWidth(self.unit_name, self.font, self.size)
        block_w = max(date_w, unit_w)
        right = self.width - self.right_indent
        centre = right - block_w / 2
        c.drawCentredString(centre, self.leading, self.unit_name)
        c.drawCentredString(centre, 0, self.date_text)
        ax, ay = c.absolutePosition(centre, self.leading * 0.75)
        self.placed = (c.getPageNumber() - 1, ax, ay)


def render_notice(notice: Notice, *, seal_size: float = DEFAULT_DIAMETER) -> tuple[bytes, SealBox]:
    """The notice's PDF and the box where its seal belongs."""
    font = cjk_font()
    body_size = 15.0
    title = ParagraphStyle("title", fontName=font, fontSize=21, leading=34, alignment=TA_CENTER, spaceAfter=10)
    numbers = ParagraphStyle("numbers", fontName=font, fontSize=11, leading=18, alignment=TA_CENTER)
    body = ParagraphStyle(
        "body", fontName=font, fontSize=body_size, leading=body_size * 1.75, alignment=TA_LEFT,
        firstLineIndent=body_size * 2, wordWrap="CJK",
    )
    addressee = ParagraphStyle("addressee", parent=body, firstLineIndent=0)
    footer = ParagraphStyle("footer", fontName=font, fontSize=9, leading=14, alignment=TA_LEFT, wordWrap="CJK")

    story: list[Flowable] = [Paragraph(escape(notice.title), title)]
    if notice.numbers:
        story.append(Paragraph("　　".join(f"{escape(k)}：{escape(v)}" for k, v in notice.numbers), numbers))
    story.append(Spacer(1, 8 * mm))
    if notice.addressee:
        story.append(Paragraph(f"{escape(notice.addressee)}：", addressee))
    for p in notice.paragraphs:
        story.append(Paragraph(escape(p), body))
    story.append(Spacer(1, 18 * mm))
    block = _SignatureBlock(notice.unit_name, chinese_date(notice.issued_on), font, body_size, body_size * 2)
    story.append(block)
    if notice.footer:
        story.append(Spacer(1, 16 * mm))
        story.append(Paragraph(escape(notice.footer), footer))

    buf = BytesIO()
    doc = SimpleDocTemplate(
        buf, pagesize=A4, leftMargin=28 * mm, rightMargin=26 * mm, topMargin=37 * mm, bottomMargin=35 * mm,
        title=notice.title, author=notice.unit_name, subject=notice.title, creator="OneWindow seal",
    )
    doc.build(story)
    assert block.placed is not None
    page, cx, cy = block.placed
    half = seal_size / 2
    box = SealBox(page, cx - half, cy - half, cx + half, cy + half)
    return buf.getvalue(), box
