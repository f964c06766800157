"""Lay a notice out as an A4 PDF with ReportLab, the CJK font embedded, and a blank box where the
unit's No. 2 seal goes (over the signer and the date, as seals are placed on Chinese official
documents). The box's position is returned so the seal service can stamp exactly there.

Layout follows the usual form of administrative licensing notices (after GB/T 9704-2012 for
official documents): the issuing authority and the title centered, the document number under
them, the addressee flush left, paragraphs indented by two characters, the signer and the date at
the bottom right.

Most of a notice's CPU went into embedding the font: ReportLab builds a TrueType subset of the
CJK font per document (glyphs parsed and copied) and deflates it, ~60 % of a layout. Notices of
one kind share most of their characters (the template's wording), so the font's codes are given
in a fixed order before anything is drawn (:class:`_Seed`): first the characters of the notice's
wording (``stable_text``: the notice rendered with its per-notice fields blanked, sorted, up to a
subset's end), then its other characters (sorted), then the addressee's. The subsets of the
wording are then the same list of characters in every notice of that kind and branch, and their
font programs (built once, deflated once) and font dictionaries' widths and ToUnicode maps are
kept (:data:`_SUBSETS`, bounded by size). Only the small subset holding the unit's, the item's
and the applicant's characters is built per notice, and it is not kept. What is kept is exactly
what ReportLab writes for that list of characters (tests/notify/test_notice_font_subsets.py
compares the bytes), and only the wording's: nothing of one notice goes into another. The
wording ends its subset only when that adds no subset to the notice (each embeds ~5 KB of font
tables); a notice whose characters all fit one subset is laid out as before, at the old cost.
The layout itself (Platypus) is unchanged: a notice looks exactly as before.
"""

from __future__ import annotations

import io
import os
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfdoc, pdfmetrics
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
    font = TTFont(FONT_NAME, path, **kwargs)
    _keep_subsets(font)
    pdfmetrics.registerFont(font)
    return FONT_NAME


# -- font subsets kept across notices ---------------------------------------------------------------

#: (font file, subfont, the subset's character codes) -> its font program and that deflated.
_SUBSETS: OrderedDict[tuple, "_Subset"] = OrderedDict()
_SUBSETS_MAX_BYTES = 8 * 1024 * 1024  # the wording of every kind and branch (~100 KB each) many times over
_subsets_bytes = 0  # what the kept subsets hold, in bytes
#: The subsets of the notice being written that hold its wording only (set by :class:`_Seed`):
#: only these are kept; the others, with the notice's own characters, are built for it alone.
_wording: set[tuple[int, ...]] = set()
_scratch: dict[tuple, "_Subset"] = {}
#: Set while a notice is laid out with its codes in the fixed order (``render_pdf``); read by the
#: font's hooks below (they run inside ``render_pdf``, under ``_RENDER_LOCK``).
_reusing = False


class _Subset:
    """A subset's font program, deflated, and its font dictionary's parts as written (the widths
    array; the ToUnicode map deflated, per subset number: its name is in it)."""

    __slots__ = ("key", "raw", "deflated", "widths", "cmaps")

    def __init__(self, key: tuple, raw: bytes) -> None:
        self.key, self.raw, self.deflated = key, raw, None
        self.widths: bytes | None = None
        self.cmaps: dict[int, bytes] = {}

    def size(self) -> int:
        return len(self.raw) + len(self.deflated or b"") + len(self.widths or b"") + sum(map(len, self.cmaps.values()))


def _grown(kept: _Subset, n: int) -> None:
    """``kept`` holds ``n`` bytes more: counted while it is in the cache, which is then trimmed to
    its bound (oldest first; one in use by the notice being written stays usable all the same)."""
    global _subsets_bytes
    if _SUBSETS.get(kept.key) is kept:
        _subsets_bytes += n
    while _subsets_bytes > _SUBSETS_MAX_BYTES and len(_SUBSETS) > 1:
        _subsets_bytes -= _SUBSETS.popitem(last=False)[1].size()


class _Formatted(pdfdoc.PDFObject):
    """A PDF object written once before (the same bytes ReportLab would write again)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def format(self, document) -> bytes:
        return self.data


class _Deflated:
    """A stream filter giving deflated bytes kept with a subset, deflated on first use as
    ReportLab's ``PDFZCompress`` does (zlib at its default level)."""

    pdfname = "FlateDecode"

    def __init__(self, kept: _Subset, get, put) -> None:
        self.kept, self.get, self.put = kept, get, put

    def encode(self, content: bytes | str) -> bytes:
        done = self.get()
        if done is None:
            done = zlib.compress(content.encode("utf8") if isinstance(content, str) else content)
            self.put(done)
            _grown(self.kept, len(done))
        return done


class _Window:
    """A table of the font file, sliced where it lies: ReportLab's ``get_table`` copies the whole
    table first (3.5 MB of glyphs for every subset built, ~0.8 ms), and makeSubset only slices
    the large ones (``glyf``, ``post``)."""

    __slots__ = ("data", "start", "length")

    def __init__(self, data: bytes, start: int, length: int) -> None:
        self.data, self.start, self.length = data, start, length

    def __getitem__(self, s: slice) -> bytes:
        lo, hi, _ = s.indices(self.length)
        return self.data[self.start + lo:self.start + hi]


def _keep_subsets(font: TTFont) -> None:
    """Hook the font's subset building so that a subset already built (the same characters in the
    same order) is taken from :data:`_SUBSETS` instead of being built and deflated again."""
    face = font.face
    make, add, get_table = face.makeSubset, face.addSubsetObjects, face.get_table
    owner = (face.filename, getattr(face, "subfontIndex", 0))

    def table(tag: str):
        if _reusing and tag in ("glyf", "post"):
            pos, length = face.get_table_pos(tag)
            return _Window(face._ttf_data, pos, length)
        return get_table(tag)

    def subset_of(subset: list[int]) -> _Subset:
        codes = tuple(subset)
        key = (*owner, codes)
        kept = _SUBSETS.get(key) or _scratch.get(key)
        if kept is not None:
            if key in _SUBSETS:
                _SUBSETS.move_to_end(key)
            return kept
        kept = _Subset(key, make(subset))
        if codes in _wording:
            _SUBSETS[key] = kept
            _grown(kept, kept.size())
        else:  # the notice's own characters: built for this notice only
            _scratch[key] = kept
        return kept

    def make_subset(subset: list[int]) -> bytes:
        return subset_of(subset).raw if _reusing else make(subset)

    def add_subset_objects(doc, fontname: str, subset: list[int]):
        ref = add(doc, fontname, subset)
        if _reusing and doc.compression:
            stream = doc.idToObject.get(f"fontFile:{face.filename}({fontname})")
            kept = subset_of(subset)
            if stream is not None and stream.content is kept.raw:
                stream.filters = [_Deflated(kept, lambda: kept.deflated, lambda b: setattr(kept, "deflated", b))]
        return ref

    add_objects = font.addObjects

    def add_font_objects(doc) -> None:
        """ReportLab's, with each kept subset's widths and ToUnicode map as written before."""
        state = font.state.get(doc)
        if not _reusing or state is None or not doc.compression:
            return add_objects(doc)
        subsets = [list(x) for x in state.subsets]
        add_objects(doc)
        fonts = doc.idToObject["BasicFonts"].dict
        for n, subset in enumerate(subsets):
            kept = _SUBSETS.get((*owner, tuple(subset)))
            pdf_font = fonts.get(f"{state.internalName}+{n}")
            if kept is None or pdf_font is None:
                continue
            if kept.widths is None:
                kept.widths = pdf_font.Widths.format(doc)
                _grown(kept, len(kept.widths))
            pdf_font.Widths = _Formatted(kept.widths)
            cmap = doc.idToObject.get("toUnicodeCMap:" + pdf_font.BaseFont)
            if cmap is not None:
                cmap.filters = [_Deflated(kept, lambda n=n, kept=kept: kept.cmaps.get(n),
                                          lambda b, n=n, kept=kept: kept.cmaps.__setitem__(n, b))]

    face.makeSubset = make_subset
    face.get_table = table
    face.addSubsetObjects = add_subset_objects
    font.addObjects = add_font_objects


def _codes_order(doc: "NoticeDocument", stable_text: str) -> tuple[str, str]:
    """The characters to give codes to before drawing: the wording's (those of ``stable_text``
    the notice uses, but none only the addressee has), then the notice's others but the
    addressee's, each sorted. The addressee's own characters come last, as drawn."""
    text = set(_all_text(doc, with_addressee=False))
    wording = set(stable_text) & text
    return "".join(sorted(wording)), "".join(sorted(text - wording))


def _all_text(doc: "NoticeDocument", with_addressee: bool = True) -> str:
    parts = [doc.issuer, doc.title, doc.number, doc.addressee if with_addressee else "",
             *(b.text for b in doc.blocks), doc.signer, doc.date, *doc.notes]
    # the numbering of list items ("1. ") is in the blocks' text already
    return "".join(parts)


#: Codes for characters in a subset after the first (0 is .notdef, 32 the space).
_SUBSET_SLOTS = 254
_FIRST_SUBSET_SLOTS = 159


def _slots_used(next_code: int) -> int:
    """Characters in the subset that ``next_code`` falls in (the first holds 159: codes 1-31 and
    128-255; ReportLab keeps 32-127 for ASCII)."""
    low = next_code & 0xFF
    if next_code < 256:
        return low - 1 if low <= 32 else low - 128 + 31
    return max(0, low - 1 - (low > 32))


def _subsets(n: int) -> int:
    """Fresh subsets that ``n`` characters take."""
    return -(-n // _SUBSET_SLOTS)


class _Seed(Flowable):
    """Gives the font's codes in a fixed order (see the module's docstring) before anything of
    the notice is drawn: the wording's characters, then up to the end of that subset, then the
    rest. Draws nothing and takes no room."""

    def __init__(self, font: str, wording: str, rest: str, addressee: str) -> None:
        super().__init__()
        self.font, self.wording, self.rest, self.addressee = font, wording, rest, addressee

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return 0, 0

    def draw(self) -> None:
        doc = self.canv._doc
        f = pdfmetrics.getFont(self.font)
        f.splitString(self.wording, doc)
        state = f.state[doc]
        last = (state.nextCode - 1) >> 8  # the subset the wording's last character went to
        complete = state.subsets[:last]  # full ones: nothing else can come into them
        if self.wording and state.nextCode & 0xFF and self._padding_is_free(f, state):
            # the next character opens a subset of its own: the wording's subsets stay the same
            state.nextCode = ((state.nextCode >> 8) + 1) << 8
            complete = state.subsets[:last + 1]
        elif self.wording and not state.nextCode & 0xFF:
            complete = state.subsets[:last + 1]
        _wording.update(tuple(x) for x in complete)
        f.splitString(self.rest, doc)

    def _padding_is_free(self, f: TTFont, state) -> bool:
        """Whether starting a subset after the wording adds none to the document: each subset
        embeds a font program of its own (~5 KB of tables besides the glyphs), so a notice whose
        characters all fit the wording's last subset keeps them there (and builds it anew)."""
        glyphs = f.face.charToGlyph
        later = {c for c in map(ord, self.rest + self.addressee) if c in glyphs and c not in state.assignments}
        last_free = (_FIRST_SUBSET_SLOTS if state.nextCode < 256 else _SUBSET_SLOTS) - _slots_used(state.nextCode)
        return len(later) > last_free and _subsets(len(later) - last_free) == _subsets(len(later))


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
               outline_seal: bool = False, stable_text: str = "", reuse_subsets: bool = True) -> RenderedNotice:
    """Render ``doc``; ``outline_seal`` draws the seal box as a dashed circle (previews only).
    ``stable_text``: the wording notices of this kind share (``rendering.stable_text``), whose
    font subsets are kept; ``reuse_subsets=False`` lays it out as ReportLab does by itself
    (measurements)."""
    global _reusing
    with _RENDER_LOCK:
        _reusing = reuse_subsets
        try:
            return _render_pdf(doc, font_path=font_path, author=author, outline_seal=outline_seal,
                               stable_text=stable_text if reuse_subsets else None)
        finally:
            _reusing = False
            _wording.clear()
            _scratch.clear()


def _render_pdf(doc: NoticeDocument, *, font_path: str | None, author: str, outline_seal: bool,
                stable_text: str | None = None) -> RenderedNotice:
    font = register_font(font_path)
    st = _styles(font)
    buf = io.BytesIO()
    placed: list[SealBox] = []
    pdf = SimpleDocTemplate(
        buf, pagesize=A4, leftMargin=28 * mm, rightMargin=26 * mm, topMargin=25 * mm, bottomMargin=20 * mm,
        title=f"{doc.title} {doc.number}", author=author or doc.signer, subject=doc.title, creator="OneWindow notify",
    )
    story: list[Flowable] = []
    if stable_text is not None:
        story.append(_Seed(font, *_codes_order(doc, stable_text), doc.addressee))
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
