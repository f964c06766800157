from __future__ import annotations

import re
import subprocess
from io import BytesIO
from pathlib import Path

from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader

from services.seal.adapters.image import DEFAULT_DIAMETER, SealFace, seal_pdf, seal_svg
from services.seal.adapters.render import render_notice

from .conftest import sample_notice


def _png(pdf: bytes, tmp: Path, dpi: int = 100) -> Image.Image:
    (tmp / "in.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-singlefile", str(tmp / "in.pdf"), str(tmp / "out")], check=True)
    return Image.open(tmp / "out.png").convert("RGB")


def _is_red(px: tuple[int, int, int]) -> bool:
    r, g, b = px
    return r > 180 and g < 80 and b < 80


def test_seal_face_is_a_red_ring_with_a_star_in_the_middle(tmp_path: Path) -> None:
    pdf = seal_pdf(SealFace("某某县市场监督管理局"))
    page = PdfFileReader(BytesIO(pdf)).root["/Pages"]["/Kids"][0]
    x1, y1, x2, y2 = (float(v) for v in page["/MediaBox"])
    assert abs((x2 - x1) - DEFAULT_DIAMETER) < 0.5 and abs((y2 - y1) - DEFAULT_DIAMETER) < 0.5

    img = _png(pdf, tmp_path, dpi=144)
    w, h = img.size
    assert _is_red(img.getpixel((w // 2, h // 2)))          # the star's centre
    assert _is_red(img.getpixel((w // 2, 2)))               # the ring at the top
    assert _is_red(img.getpixel((2, h // 2)))               # the ring at the left
    assert img.getpixel((w // 2, int(h * 0.08))) == (255, 255, 255)  # inside the ring, above the name
    assert all(not (g < 80 and r < 80) for r, g, b in img.get_flattened_data()), "nothing but red on white"


def test_seal_face_embeds_its_cjk_font_and_writes_the_unit_name(tmp_path: Path) -> None:
    pdf = seal_pdf(SealFace("某某县民政局"))
    (tmp_path / "s.pdf").write_bytes(pdf)
    fonts = subprocess.run(["pdffonts", str(tmp_path / "s.pdf")], capture_output=True, text=True, check=True).stdout
    font_line = [l for l in fonts.splitlines() if "TrueType" in l][0]
    assert font_line.split()[-5:-3] == ["yes", "yes"]  # embedded, subset
    text = subprocess.run(["pdftotext", str(tmp_path / "s.pdf"), "-"], capture_output=True, text=True, check=True).stdout
    for ch in "某县民政局行政审批专用章2":
        assert ch in text
    svg = seal_svg(SealFace("某某县民政局"))
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "民" in svg and "专用章" in svg


def test_notice_renders_chinese_text_and_puts_the_seal_over_unit_and_date(tmp_path: Path) -> None:
    pdf, box = render_notice(sample_notice())
    (tmp_path / "n.pdf").write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "n.pdf"), "-"], capture_output=True, text=True, check=True).stdout
    assert "受理通知书" in text and "张三：" in text and "2024年8月2日" in text and "SL-2024-000123" in text
    assert "某某县市场监督管理局" in text
    assert box.page == 0
    assert abs(box.width - DEFAULT_DIAMETER) < 0.01 and abs(box.height - DEFAULT_DIAMETER) < 0.01
    assert box.x1 > 595 / 2 and box.x2 < 595  # right half of the A4 page
    # the seal's box covers the issuing unit's name and the date under the body, as on paper
    bbox = subprocess.run(["pdftotext", "-bbox", str(tmp_path / "n.pdf"), "-"], capture_output=True, text=True, check=True).stdout
    words = re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]+)</word>', bbox)
    for needle in ("某某县市场监督管理局", "2024年8月2日"):
        x1, y1, x2, y2, _ = [w for w in words if w[4] == needle][-1]
        cx, cy = (float(x1) + float(x2)) / 2, 842 - (float(y1) + float(y2)) / 2
        assert box.x1 < cx < box.x2 and box.y1 < cy < box.y2, needle


def test_long_notice_puts_the_seal_on_its_last_page() -> None:
    notice = sample_notice()
    long = type(notice)(**{**notice.__dict__, "paragraphs": notice.paragraphs * 20})
    pdf, box = render_notice(long)
    pages = int(PdfFileReader(BytesIO(pdf)).root["/Pages"]["/Count"])
    assert pages >= 2 and box.page == pages - 1
