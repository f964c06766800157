"""The OFD notice carries its font (GB/T 33190 FontFile): a subset of the CJK font the PDF uses,
referenced from PublicRes.xml, holding the glyph of every character of the text — so a reader
without our font draws the same letters. (ofdrw verifying such OFDs: tests/seal/test_ofd.py.)"""

from __future__ import annotations

import io
from datetime import date
from xml.etree import ElementTree as ET

import pytest
from fontTools.ttLib import TTFont

from services.seal.adapters import ofd
from services.seal.adapters.fonts import cjk_font_file

pytestmark = pytest.mark.timeout(180)
Q = "{%s}" % ofd.NS


def notice() -> ofd.OfdNotice:
    return ofd.OfdNotice(
        title="准予行政许可决定书", unit_name="某某县市场监督管理局", addressee="鑫淼餐饮管理有限公司",
        paragraphs=["你单位于2026年3月2日提出的食品经营许可申请（受理编号SL-2026-000123），经审查，符合法定条件。",
                    "如不服本决定，可在六十日内申请行政复议。"],
        issued_on=date(2026, 3, 9), numbers=[("文书编号", "FGJ审准许〔2026〕0001号")],
        footer="本文书加盖电子印章，可在 http://seal.example/seal/documents/X 核验。",
    )


def test_the_notice_embeds_a_subset_of_its_font_with_every_glyph_of_its_text() -> None:
    package, _place = ofd.render_notice(notice())
    files = package.files
    # referenced: PublicRes.xml's font names its file, relative to the resources' BaseLoc
    res = ET.fromstring(files["Doc_0/PublicRes.xml"])
    font_el = res.find(f"{Q}Fonts/{Q}Font")
    assert font_el is not None
    font_path = f"Doc_0/{res.get('BaseLoc')}/{font_el.findtext(Q + 'FontFile')}"
    assert font_path in files, sorted(files)
    # every TextObject uses that font
    text = ""
    for name, data in files.items():
        if name.endswith("/Content.xml"):
            for obj in ET.fromstring(data).iter(Q + "TextObject"):
                assert obj.get("Font") == font_el.get("ID")
                text += "".join(c.text or "" for c in obj.iter(Q + "TextCode"))
    assert "鑫淼" in text and "〔2026〕" in text
    embedded = TTFont(io.BytesIO(files[font_path]))
    path, index = cjk_font_file()
    original = TTFont(path, fontNumber=index, lazy=True)
    cmap, orig_cmap = embedded.getBestCmap(), original.getBestCmap()
    glyf, orig_glyf = embedded["glyf"], original["glyf"]
    for ch in set(text) - {" ", "　"}:
        assert ord(ch) in cmap, f"{ch!r} missing from the embedded font"
        glyph = glyf[cmap[ord(ch)]]
        assert glyph.numberOfContours != 0, f"{ch!r} has no outline"
        # the same drawing as the font the PDF uses
        mine, theirs = glyph.getCoordinates(glyf)[0], orig_glyf[orig_cmap[ord(ch)]].getCoordinates(orig_glyf)[0]
        assert list(mine) == list(theirs), ch
    # FreeType (through Pillow, as a reader would) draws the embedded letters as the original font
    # does — up to the hints the subset leaves out (a mean difference of ~2/255 at 120 px; another
    # font differs by ~50)
    from PIL import Image, ImageChops, ImageDraw, ImageFont, ImageStat

    def drawn(font: ImageFont.FreeTypeFont, sample: str) -> Image.Image:
        img = Image.new("L", (120 * len(sample), 140), 0)
        ImageDraw.Draw(img).text((2, 2), sample, font=font, fill=255)
        return img

    sample = "鑫淼准予〔2026〕号"
    ours = drawn(ImageFont.truetype(io.BytesIO(files[font_path]), 120), sample)
    theirs = drawn(ImageFont.truetype(path, 120, index=index), sample)
    assert ImageStat.Stat(ours).mean[0] > 10  # ink, not empty boxes
    assert ImageStat.Stat(ImageChops.difference(ours, theirs)).mean[0] < 5
    # a subset, not the whole 5 MB font
    assert len(files[font_path]) < 300_000
    assert ord("鬱") not in cmap


def test_the_embedded_font_is_signed_like_the_pages() -> None:
    package, place = ofd.render_notice(notice())
    from datetime import UTC, datetime

    sealed = ofd.seal_ofd(package, place, lambda xml, prop: b"\x30\x00", at=datetime(2026, 3, 9, tzinfo=UTC),
                          provider="test", company="test")
    read = ofd.read_ofd(sealed)
    (sig,) = read.signatures
    assert f"Doc_0/Res/{ofd.FONT_FILE}" in [path for path, _ in sig.references]
    assert not sig.mismatched and not sig.unreferenced


def test_composite_glyphs_are_drawn_flat_into_the_subset() -> None:
    """WenQuanYi (the fallback font) builds most of its glyphs from parts: the subset carries them
    as plain outlines, drawn as the font draws them."""
    from PIL import Image, ImageChops, ImageDraw, ImageFont, ImageStat

    from services.seal.adapters.fonts import subset_ttf

    wqy = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0)
    sample = "准予许可决定书éÀ"
    data = subset_ttf(sample, font=wqy)
    font = TTFont(io.BytesIO(data))
    glyf, cmap = font["glyf"], font.getBestCmap()
    assert all(ord(ch) in cmap and not glyf[cmap[ord(ch)]].isComposite() for ch in sample)
    original = TTFont(wqy[0], fontNumber=wqy[1], lazy=True)
    assert any(original["glyf"][original.getBestCmap()[ord(ch)]].isComposite() for ch in sample)

    def drawn(f: ImageFont.FreeTypeFont) -> Image.Image:
        img = Image.new("L", (120 * len(sample), 140), 0)
        ImageDraw.Draw(img).text((2, 2), sample, font=f, fill=255)
        return img

    ours, theirs = drawn(ImageFont.truetype(io.BytesIO(data), 120)), drawn(ImageFont.truetype(wqy[0], 120, index=0))
    assert ImageStat.Stat(ours).mean[0] > 10
    assert ImageStat.Stat(ImageChops.difference(ours, theirs)).mean[0] < 5
