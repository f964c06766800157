"""OFD notices (GB/T 33190-2016, namespace ``http://www.ofdspec.org/2016``) sealed with a
GB/T 38540 v4 electronic signature.

- :func:`render_notice` lays a notice out as the PDF of ``render.py`` is laid out (A4, the same
  margins, sizes and leading; the issuing unit over the date at the bottom right) and returns the
  OFD package without a signature, and where the seal goes.
- :func:`seal_ofd` signs a package: ``Doc_0/Signs/Signatures.xml`` lists one signature,
  ``Sign_0/Signature.xml`` holds the References (the SM3 of every file of the package outside
  ``Signs``, CheckMethod SM3), the StampAnnot (the seal's place on the page) and the location of
  ``SignedValue.dat``: the DER SES_Signature whose dataHash is the SM3 of Signature.xml.
- :func:`read_ofd` parses a package and :func:`check_package` checks what a signature covers; the
  cryptographic part (seal, signer, county root, CRL) is in ``verify.py``.

Text is positioned glyph by glyph (DeltaX from the CJK font's metrics), so the layout does not
depend on the reader's font; the font is named (宋体) and a subset of it (the glyphs the notice
uses, fontTools) is embedded as ``Doc_0/Res/font_1.ttf``, referenced from PublicRes.xml's
``FontFile``, so a reader without our font draws the same letters. Units are millimetres; y runs
down the page.
"""

from __future__ import annotations

import base64
import io
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from xml.etree import ElementTree as ET

from reportlab.pdfbase import pdfmetrics

from . import sm2
from .fonts import cjk_font, subset_ttf

NS = "http://www.ofdspec.org/2016"
_Q = "{%s}" % NS
ET.register_namespace("ofd", NS)

#: the CheckMethod of the References: SM3 (GB/T 32905), by its OID as GB/T 38540 names it
CHECK_METHOD = sm2.OID_SM3
SIGN_DIR = "Doc_0/Signs"
SIGNATURES = f"{SIGN_DIR}/Signatures.xml"
SIGNATURE = f"{SIGN_DIR}/Sign_0/Signature.xml"
SIGNED_VALUE = f"{SIGN_DIR}/Sign_0/SignedValue.dat"
MAX_ENTRIES = 2000
FONT_FILE = "font_1.ttf"  # the embedded CJK subset, in Doc_0/Res (PublicRes.xml's BaseLoc)

PT = 25.4 / 72  # millimetres per point
A4 = (210.0, 297.0)
SEAL_MM = 42.0


class OfdError(ValueError):
    """Not an OFD package, or one that cannot be sealed or read (the reason in zh-CN)."""


@dataclass(frozen=True)
class OfdNotice:
    title: str
    unit_name: str
    paragraphs: list[str]
    issued_on: date
    addressee: str | None = None
    numbers: list[tuple[str, str]] = field(default_factory=list)
    footer: str | None = None
    doc_id: str = ""


@dataclass(frozen=True)
class StampPlace:
    page_index: int
    x: float  # mm, left
    y: float  # mm, top
    w: float
    h: float


@dataclass
class Package:
    """An OFD package in memory: path (no leading slash) -> bytes, in writing order."""

    files: dict[str, bytes]
    page_ids: list[str] = field(default_factory=list)

    def zip(self) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in self.files.items():
                info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, data)
        return buf.getvalue()


def _xml(root: ET.Element) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")


def _el(parent: ET.Element | None, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    e = ET.Element(_Q + tag, attrs) if parent is None else ET.SubElement(parent, _Q + tag, attrs)
    if text is not None:
        e.text = text
    return e


def _n(v: float) -> str:
    return f"{v:.3f}".rstrip("0").rstrip(".") or "0"


# -- layout --------------------------------------------------------------------------------------

class _Layout:
    """Pages of positioned text lines."""

    def __init__(self, font: str) -> None:
        self.font = font
        self.pages: list[list[tuple[float, float, float, str]]] = [[]]  # (x, baseline y, size mm, text)
        self.left, self.right = 28.0, A4[0] - 26.0
        self.top, self.bottom = 37.0, A4[1] - 35.0
        self.y = self.top

    def width(self, text: str, size_mm: float) -> float:
        return pdfmetrics.stringWidth(text, self.font, size_mm / PT) * PT

    def advances(self, text: str, size_mm: float) -> list[float]:
        return [pdfmetrics.stringWidth(ch, self.font, size_mm / PT) * PT for ch in text]

    def need(self, height: float) -> None:
        if self.y + height > self.bottom and self.pages[-1]:
            self.pages.append([])
            self.y = self.top

    def line(self, x: float, size: float, leading: float, text: str) -> float:
        """Place one line at the cursor; returns its baseline."""
        self.need(leading)
        baseline = self.y + (leading + size * 0.7) / 2
        self.pages[-1].append((x, baseline, size, text))
        self.y += leading
        return baseline

    def centred(self, size: float, leading: float, text: str) -> None:
        mid = (self.left + self.right) / 2
        self.line(mid - self.width(text, size) / 2, size, leading, text)

    def paragraph(self, size: float, leading: float, text: str, indent_chars: float) -> None:
        avail = self.right - self.left
        first = True
        rest = text
        while rest or first:
            indent = size * indent_chars if first else 0.0
            widths = self.advances(rest, size)
            used, cut = 0.0, 0
            for w in widths:
                if used + w > avail - indent + 1e-6:
                    break
                used += w
                cut += 1
            cut = max(cut, 1) if rest else 0
            # CJK wrap: lines break between characters; keep closing punctuation off a line start
            while cut < len(rest) and rest[cut] in "，。、；：！？）》」』”’" and cut > 1:
                cut -= 1
            self.line(self.left + indent, size, leading, rest[:cut])
            rest = rest[cut:]
            first = False


def chinese_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def render_notice(notice: OfdNotice) -> tuple[Package, StampPlace]:
    """The notice as an unsigned OFD package and the seal's place (centred on the unit and date)."""
    font = cjk_font()
    lay = _Layout(font)
    body, body_lead = 15 * PT, 15 * PT * 1.75
    lay.centred(21 * PT, 34 * PT, notice.title)
    lay.y += 10 * PT
    if notice.numbers:
        lay.paragraph(11 * PT, 18 * PT, "　　".join(f"{k}：{v}" for k, v in notice.numbers), 0)
    lay.y += 8.0
    if notice.addressee:
        lay.paragraph(body, body_lead, f"{notice.addressee}：", 0)
    for p in notice.paragraphs:
        lay.paragraph(body, body_lead, p, 2)
    lay.y += 18.0
    lay.need(body_lead * 2)
    date_text = chinese_date(notice.issued_on)
    block_w = max(lay.width(notice.unit_name, body), lay.width(date_text, body))
    centre_x = lay.right - body * 2 - block_w / 2
    lay.line(centre_x - lay.width(notice.unit_name, body) / 2, body, body_lead, notice.unit_name)
    date_base = lay.line(centre_x - lay.width(date_text, body) / 2, body, body_lead, date_text)
    seal_page = len(lay.pages) - 1
    centre_y = date_base - body_lead * 0.75
    place = StampPlace(seal_page, centre_x - SEAL_MM / 2, centre_y - SEAL_MM / 2, SEAL_MM, SEAL_MM)
    if notice.footer:
        lay.y += 16.0
        lay.paragraph(9 * PT, 14 * PT, notice.footer, 0)
    return _package(notice, lay), place


def _package(notice: OfdNotice, lay: _Layout) -> Package:
    files: dict[str, bytes] = {}
    ofd = _el(None, "OFD", Version="1.0", DocType="OFD")
    bodyel = _el(ofd, "DocBody")
    info = _el(bodyel, "DocInfo")
    _el(info, "DocID", notice.doc_id or "0" * 32)
    _el(info, "Title", notice.title)
    _el(info, "Author", notice.unit_name)
    _el(info, "Subject", notice.title)
    _el(info, "CreationDate", notice.issued_on.isoformat())
    _el(info, "Creator", "OneWindow seal")
    _el(info, "CreatorVersion", "1.0")
    _el(bodyel, "DocRoot", "Doc_0/Document.xml")
    _el(bodyel, "Signatures", SIGNATURES)
    files["OFD.xml"] = _xml(ofd)

    next_id = 1
    font_id = str(next_id)
    res = _el(None, "Res", BaseLoc="Res")
    fonts = _el(res, "Fonts")
    # the face's role is named (宋体) and its subset embedded (FontFile, relative to BaseLoc): a
    # reader without our font draws the same letters; the file is signed like every other one
    font = _el(fonts, "Font", ID=font_id, FontName="宋体", FamilyName="宋体")
    _el(font, "FontFile", FONT_FILE)
    text = "".join(t for lines in lay.pages for *_, t in lines)
    files[f"Doc_0/Res/{FONT_FILE}"] = subset_ttf(text)

    page_ids: list[str] = []
    pages_xml: list[tuple[str, bytes]] = []
    next_id += 1
    for i, lines in enumerate(lay.pages):
        page_id = str(next_id)
        next_id += 1
        page_ids.append(page_id)
        page = _el(None, "Page")
        area = _el(page, "Area")
        _el(area, "PhysicalBox", f"0 0 {_n(A4[0])} {_n(A4[1])}")
        content = _el(page, "Content")
        layer = _el(content, "Layer", ID=str(next_id), Type="Body")
        next_id += 1
        for x, baseline, size, text in lines:
            if not text:
                continue
            adv = lay.advances(text, size)
            w = sum(adv)
            top = baseline - size
            t = _el(layer, "TextObject", ID=str(next_id), Boundary=f"{_n(x)} {_n(top)} {_n(w + size)} {_n(size * 1.4)}",
                    Font=font_id, Size=_n(size))
            next_id += 1
            _el(t, "FillColor", Value="0 0 0")
            attrs = {"X": "0", "Y": _n(size)}
            if len(text) > 1:
                attrs["DeltaX"] = " ".join(_n(a) for a in adv[:-1])
            code = _el(t, "TextCode", **attrs)
            code.text = text
        pages_xml.append((f"Doc_0/Pages/Page_{i}/Content.xml", _xml(page)))

    doc = _el(None, "Document")
    common = _el(doc, "CommonData")
    _el(common, "MaxUnitID", str(next_id - 1))
    area = _el(common, "PageArea")
    _el(area, "PhysicalBox", f"0 0 {_n(A4[0])} {_n(A4[1])}")
    _el(common, "PublicRes", "PublicRes.xml")
    pages_el = _el(doc, "Pages")
    for i, pid in enumerate(page_ids):
        _el(pages_el, "Page", ID=pid, BaseLoc=f"Pages/Page_{i}/Content.xml")
    files["Doc_0/Document.xml"] = _xml(doc)
    files["Doc_0/PublicRes.xml"] = _xml(res)
    for name, data in pages_xml:
        files[name] = data
    return Package(files, page_ids)


# -- signing -------------------------------------------------------------------------------------

def signature_xml(package: Package, place: StampPlace, *, at: datetime, provider: str, company: str) -> bytes:
    """Signature.xml: what the SES signature protects (its dataHash is this file's SM3)."""
    sig = _el(None, "Signature")
    info = _el(sig, "SignedInfo")
    _el(info, "Provider", ProviderName=provider, Version="1.0", Company=company)
    _el(info, "SignatureMethod", sm2.OID_SM3_WITH_SM2)
    _el(info, "SignatureDateTime", at.astimezone(UTC).strftime("%Y%m%d%H%M%SZ"))
    refs = _el(info, "References", CheckMethod=CHECK_METHOD)
    for name, data in package.files.items():
        if name.startswith(SIGN_DIR + "/"):
            continue
        ref = _el(refs, "Reference", FileRef="/" + name)
        _el(ref, "CheckValue", base64.b64encode(sm2.sm3(data)).decode())
    _el(info, "StampAnnot", ID="1", PageRef=package.page_ids[place.page_index],
        Boundary=f"{_n(place.x)} {_n(place.y)} {_n(place.w)} {_n(place.h)}")
    _el(sig, "SignedValue", "/" + SIGNED_VALUE)
    return _xml(sig)


def signatures_xml() -> bytes:
    root = _el(None, "Signatures")
    _el(root, "MaxSignId", "1")
    _el(root, "Signature", ID="1", Type="Seal", BaseLoc="/" + SIGNATURE)
    return _xml(root)


def seal_ofd(package: Package, place: StampPlace, sign, *, at: datetime, provider: str, company: str) -> bytes:
    """The sealed OFD: ``sign(signature_xml_bytes, property_info) -> SES_Signature DER``."""
    if any(n.startswith(SIGN_DIR + "/") for n in package.files):
        raise OfdError("该OFD文件已有签章")
    sig_xml = signature_xml(package, place, at=at, provider=provider, company=company)
    value = sign(sig_xml, "/" + SIGNATURE)
    files = dict(package.files)
    files[SIGNATURES] = signatures_xml()
    files[SIGNATURE] = sig_xml
    files[SIGNED_VALUE] = value
    return Package(files, package.page_ids).zip()


# -- reading -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SignatureEntry:
    sign_id: str
    location: str
    signature_xml: bytes
    signed_value: bytes | None
    references: list[tuple[str, bytes]]  # (file, expected digest)
    check_method: str
    signature_method: str
    stamp_page: str | None
    unreferenced: list[str]               # package files outside the signatures not covered
    mismatched: list[str]                 # referenced files whose digest differs or that are gone


@dataclass(frozen=True)
class OfdRead:
    files: dict[str, bytes]
    signatures: list[SignatureEntry]


def _norm(loc: str, base: str) -> str:
    loc = loc.strip()
    if loc.startswith("/"):
        path = loc[1:]
    else:
        path = (base.rstrip("/") + "/" + loc) if base else loc
    parts: list[str] = []
    for p in path.split("/"):
        if p in ("", "."):
            continue
        if p == "..":
            if parts:
                parts.pop()
            continue
        parts.append(p)
    return "/".join(parts)


def _parse(data: bytes, what: str) -> ET.Element:
    if b"<!DOCTYPE" in data[:2048] or b"<!ENTITY" in data[:4096]:
        raise OfdError(f"{what} 含有不允许的XML声明")
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise OfdError(f"{what} 不是有效的XML") from exc


def _digest(method: str, data: bytes) -> bytes | None:
    m = method.strip().upper()
    if m in ("SM3", sm2.OID_SM3):
        return sm2.sm3(data)
    return None


def read_ofd(data: bytes) -> OfdRead:
    """The package and its signatures; :class:`OfdError` (zh-CN reason) when it is no OFD."""
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        infos = z.infolist()
        if len(infos) > MAX_ENTRIES:
            raise OfdError("OFD文件包含的文件过多")
        if sum(i.file_size for i in infos) > 200 * 1024 * 1024:
            raise OfdError("OFD文件解压后过大")
        files = {i.filename: z.read(i) for i in infos if not i.is_dir()}
    except OfdError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, NotImplementedError, EOFError) as exc:
        raise OfdError("不是有效的OFD文件（不是OFD的ZIP容器）") from exc
    if "OFD.xml" not in files:
        raise OfdError("不是有效的OFD文件（缺少入口文件OFD.xml）")
    root = _parse(files["OFD.xml"], "OFD.xml")
    if root.tag != _Q + "OFD":
        raise OfdError("不是有效的OFD文件（OFD.xml 的根元素或命名空间不符合GB/T 33190）")
    body = root.find(_Q + "DocBody")
    if body is None or body.find(_Q + "DocRoot") is None:
        raise OfdError("不是有效的OFD文件（缺少文档主入口）")
    sigs: list[SignatureEntry] = []
    sig_list_loc = body.findtext(_Q + "Signatures")
    if sig_list_loc:
        list_path = _norm(sig_list_loc, "")
        if list_path not in files:
            raise OfdError("OFD文件的签名列表文件缺失")
        list_root = _parse(files[list_path], "Signatures.xml")
        list_dir = list_path.rsplit("/", 1)[0] if "/" in list_path else ""
        for s in list_root.findall(_Q + "Signature"):
            sigs.append(_entry(files, s, list_dir))
    return OfdRead(files, sigs)


def _entry(files: dict[str, bytes], s: ET.Element, list_dir: str) -> SignatureEntry:
    loc = _norm(s.get("BaseLoc", ""), list_dir)
    if loc not in files:
        raise OfdError("OFD文件的签名描述文件缺失")
    sig_xml = files[loc]
    root = _parse(sig_xml, "Signature.xml")
    info = root.find(_Q + "SignedInfo")
    if info is None:
        raise OfdError("签名描述文件缺少SignedInfo")
    sig_dir = loc.rsplit("/", 1)[0]
    refs_el = info.find(_Q + "References")
    method = (refs_el.get("CheckMethod") if refs_el is not None else None) or "MD5"
    refs: list[tuple[str, bytes]] = []
    mismatched: list[str] = []
    covered: set[str] = set()
    if refs_el is not None:
        for r in refs_el.findall(_Q + "Reference"):
            path = _norm(r.get("FileRef", ""), sig_dir)
            try:
                expected = base64.b64decode((r.findtext(_Q + "CheckValue") or "").strip(), validate=True)
            except ValueError:
                expected = b""
            refs.append((path, expected))
            covered.add(path)
            actual = _digest(method, files[path]) if path in files else None
            if actual is None or actual != expected:
                mismatched.append(path)
    signs_root = loc.split("/Sign_")[0] if "/Sign_" in loc else sig_dir
    unreferenced = [n for n in files if n not in covered and not n.startswith(signs_root + "/")]
    sv_loc = root.findtext(_Q + "SignedValue")
    sv = files.get(_norm(sv_loc, sig_dir)) if sv_loc else None
    stamp = info.find(_Q + "StampAnnot")
    return SignatureEntry(
        sign_id=s.get("ID", ""), location=loc, signature_xml=sig_xml, signed_value=sv, references=refs,
        check_method=method, signature_method=(info.findtext(_Q + "SignatureMethod") or "").strip(),
        stamp_page=stamp.get("PageRef") if stamp is not None else None, unreferenced=unreferenced,
        mismatched=mismatched,
    )


def is_ofd(data: bytes) -> bool:
    """Looks like a ZIP (an OFD package) rather than a PDF."""
    return data[:4] == b"PK\x03\x04"


__all__ = [
    "CHECK_METHOD", "NS", "OfdError", "OfdNotice", "OfdRead", "Package", "SignatureEntry", "StampPlace",
    "chinese_date", "is_ofd", "read_ofd", "render_notice", "seal_ofd",
]
