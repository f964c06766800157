"""The notices' font subsets kept across notices (adapters/notice_pdf.py, issue 19 goal 3): a
notice looks exactly as ReportLab alone lays it out, the kept parts are byte for byte what
ReportLab writes, the wording's subsets are reused by the next notice of the kind, and nothing of
one applicant goes into another's notice."""

from __future__ import annotations

import shutil
import subprocess
import zlib
from datetime import date
from pathlib import Path

import pytest
from reportlab import rl_config

from contracts.common import DocumentType
from services.notify.adapters import notice_pdf, rendering

from .samples import EXTRA, notice_context

#: The center's settings, part of every notice's wording (usecases/notices.py).
SETTINGS = frozenset({"center_name", "center_phone", "center_address", "reconsideration_body", "court"})

pytestmark = pytest.mark.timeout(120)


def _acceptance(applicant: str, serial: int, day: date) -> dict:
    return {**notice_context(DocumentType.ACCEPTANCE), "applicant_name": applicant, "submitted_on": day,
            "issued_on": day, "receipt_no": f"2026-SJJ-{serial:05d}", "document_no": f"县市监审受〔2026〕{serial:04d}号"}


def _render(document_type: DocumentType, context: dict, **kw) -> notice_pdf.RenderedNotice:
    doc = rendering.render_notice(document_type, context)
    return notice_pdf.render_pdf(doc, stable_text=rendering.stable_text(document_type, context, keep=SETTINGS), **kw)


@pytest.fixture
def cold():
    """An empty cache (and back to ReportLab's own dates and ids afterwards)."""
    notice_pdf._SUBSETS.clear()
    notice_pdf._subsets_bytes = 0
    invariant = rl_config.invariant
    yield
    rl_config.invariant = invariant


@pytest.mark.parametrize("document_type", list(EXTRA))
def test_a_notice_looks_as_reportlab_alone_lays_it_out(document_type, tmp_path: Path, cold):
    assert shutil.which("pdftotext") and shutil.which("pdftoppm"), "poppler-utils (deploy/apt-packages.txt) is needed"
    context = notice_context(document_type)
    _render(document_type, {**context, "applicant_name": "李四"})  # the wording's subsets kept
    alone = _render(document_type, context, reuse_subsets=False)
    kept = _render(document_type, context)
    assert (kept.seal_box, kept.pages) == (alone.seal_box, alone.pages)
    pictures = {}
    for name, out in (("alone", alone), ("kept", kept)):
        pdf = tmp_path / f"{name}.pdf"
        pdf.write_bytes(out.pdf)
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True).stdout
        subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(tmp_path / name)], check=True)
        pictures[name] = (text, [p.read_bytes() for p in sorted(tmp_path.glob(f"{name}-*.png"))])
    assert pictures["kept"] == pictures["alone"]
    assert context["document_no"] in pictures["kept"][0].decode()
    # not more subsets (each embeds ~5 KB of font tables) than ReportLab alone makes
    assert _font_programs(kept.pdf) == _font_programs(alone.pdf)
    assert abs(len(kept.pdf) - len(alone.pdf)) < 2048


@pytest.mark.parametrize("document_type", [DocumentType.ACCEPTANCE, DocumentType.SUPPLEMENT, DocumentType.DENIAL])
def test_kept_subsets_write_the_bytes_reportlab_writes(document_type, cold):
    rl_config.invariant = 1  # no dates or random ids: two writings of one notice compare byte for byte
    context = notice_context(document_type)
    doc = rendering.render_notice(document_type, context)
    stable = rendering.stable_text(document_type, context, keep=SETTINGS)
    first = notice_pdf.render_pdf(doc, stable_text=stable).pdf   # subsets built, kept
    again = notice_pdf.render_pdf(doc, stable_text=stable).pdf   # subsets, widths, maps taken from the cache
    with notice_pdf._RENDER_LOCK:  # the same order of codes, every part built by ReportLab itself
        plain = notice_pdf._render_pdf(doc, font_path=None, author="", outline_seal=False, stable_text=stable).pdf
    assert first == again == plain


def test_the_next_notice_of_a_kind_reuses_the_wording_and_carries_nothing_of_the_last(cold):
    first = _render(DocumentType.ACCEPTANCE, _acceptance("欧阳娜", 1, date(2026, 3, 5)))
    [wording] = notice_pdf._SUBSETS  # kept: the wording's subset only, not the one with the applicant's characters
    assert all(chr(c) not in "欧阳娜" for c in wording[2])
    assert _font_programs(first.pdf) == 2
    second = _render(DocumentType.ACCEPTANCE, _acceptance("诸葛亮", 2, date(2026, 11, 28)))
    assert list(notice_pdf._SUBSETS) == [wording]  # reused; the second applicant's subset not kept either
    # the second notice's fonts know nothing of the first applicant's name (ToUnicode maps, glyphs)
    maps = _to_unicode_maps(second.pdf)
    for ch in "欧阳娜":
        assert f"<{ord(ch):04X}>" not in maps
    for ch in "诸葛亮":
        assert f"<{ord(ch):04X}>" in maps
    assert first.pdf != second.pdf


def test_reuse_off_is_reportlab_alone(cold):
    _render(DocumentType.ACCEPTANCE, _acceptance("王五", 3, date(2026, 3, 5)), reuse_subsets=False)
    assert notice_pdf._SUBSETS == {}


def test_the_cache_stays_within_its_bound(cold, monkeypatch):
    monkeypatch.setattr(notice_pdf, "_SUBSETS_MAX_BYTES", 1)
    for i, name in enumerate(("赵一", "钱二", "孙三")):
        _render(DocumentType.ACCEPTANCE, _acceptance(name, 10 + i, date(2026, 3, 5)))
    assert len(notice_pdf._SUBSETS) == 1  # the newest only, whatever its size
    assert notice_pdf._subsets_bytes == sum(s.size() for s in notice_pdf._SUBSETS.values())


def test_wording_is_the_notice_with_its_own_fields_blanked():
    context = notice_context(DocumentType.ACCEPTANCE)
    stable = rendering.stable_text(DocumentType.ACCEPTANCE, context, keep=SETTINGS)
    assert "行政许可法" in stable and context["center_name"] in stable
    for field in ("applicant_name", "item_name", "unit_name", "receipt_no"):
        assert str(context[field]) not in stable
    # a branch chosen by a field is kept: the immediate item's wording differs
    immediate = rendering.stable_text(DocumentType.ACCEPTANCE, {**context, "case_kind": "immediate"}, keep=SETTINGS)
    assert "当场作出" in immediate and "当场作出" not in stable
    assert rendering.stable_text(DocumentType.SUPPLEMENT, {}, keep=SETTINGS) == ""  # missing fields: no wording


def _font_programs(pdf: bytes) -> int:
    return pdf.count(b"/FontFile2")


def _to_unicode_maps(pdf: bytes) -> str:
    """Every deflated stream of the file that is a ToUnicode CMap, as text."""
    out = []
    for chunk in pdf.split(b"stream\n")[1:]:
        body = chunk.split(b"endstream", 1)[0]
        try:
            data = zlib.decompress(body)
        except zlib.error:
            continue
        if b"begincmap" in data:
            out.append(data.decode("latin-1"))
    return "\n".join(out)
