"""`onewindow report` renders the year's summary as a document (issue 22 item 9): Markdown and a
PDF laid out like the center's year-end report, with charts. The PDF is opened with pdftotext
(poppler-utils): its text carries the figures, and it holds the chart images."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from tools.reporting import compare, compute
from tools.reporting.document import render_document_markdown, render_document_pdf, write_document

from tests.report.test_compare import AFTER, BEFORE, world

pytestmark = pytest.mark.timeout(180)
GENERATED = datetime(2026, 1, 5, tzinfo=UTC)


def pdf_text(path: Path) -> str:
    assert shutil.which("pdftotext"), "poppler-utils' pdftotext is needed to open the PDF"
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True)
    return out.stdout


def pdf_images(data: bytes, tmp_path: Path) -> int:
    """The images drawn in the PDF (the charts), as poppler's pdfimages lists them (their alpha
    masks, listed as 'smask', not counted)."""
    path = tmp_path / "images.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True, check=True).stdout
    return sum(1 for line in out.splitlines()[2:] if line.split()[2] == "image")


def test_the_document_as_markdown_and_pdf(tmp_path: Path) -> None:
    events = world()
    year = compute(events, date(2025, 1, 1), date(2025, 12, 31), generated_at=GENERATED)
    c = compare(events, BEFORE, AFTER, weekend_since=date(2025, 6, 1), generated_at=GENERATED)
    written = write_document(year, c, tmp_path / "nianbao", center_name="青山县行政审批服务中心")
    names = sorted(p.name for p in written)
    assert names == ["nianbao-compare.png", "nianbao-monthly.png", "nianbao.md", "nianbao.pdf"]

    md = (tmp_path / "nianbao.md").read_text(encoding="utf-8")
    assert md.startswith("# 青山县行政审批服务中心2025年工作总结")
    heads = [line for line in md.splitlines() if line.startswith("## ")]
    assert heads == ["## 一、主要业务数据", "## 二、六件管理", "## 三、分月办理情况", "## 四、前后对比",
                     "## 五、双休日正常办理", "## 六、“应进不进”单位"]
    assert f"办结 {year.cases_decided:,} 件" in md and "按期办结率" in md
    assert "![图1 各月收件与办结件数](nianbao-monthly.png)" in md and "![图2 对比期与本期](nianbao-compare.png)" in md
    assert "| 即办件事项（期末） | 1 项 | 4 项 | +3 项 |" in md
    assert "平均办理时间由 9.5 个工作日缩短为 4.3 个工作日" in md
    assert "| 2025-07 |" in md and "即办件" in md  # the months' table; the kinds' table
    for png in ("nianbao-monthly.png", "nianbao-compare.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    pdf = tmp_path / "nianbao.pdf"
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and pdf_images(data, tmp_path) == 2  # both charts drawn in
    text = pdf_text(pdf)
    flat = re.sub(r"\s+", "", text)
    assert "青山县行政审批服务中心2025年工作总结" in flat
    for heading in ("一、主要业务数据", "三、分月办理情况", "四、前后对比", "五、双休日正常办理"):
        assert heading in flat
    assert f"收件{year.applications_received:,}件" in flat and "按期办结率" in flat
    assert "1项" in flat and "4项" in flat and "+3项" in flat  # immediate items then and now
    assert "图1各月收件与办结件数" in flat and "图2对比期与本期" in flat
    assert "平均每个双休日1.5件" in flat


def test_without_a_comparison_the_parts_renumber_and_no_compare_chart(tmp_path: Path) -> None:
    year = compute(world(), date(2025, 1, 1), date(2025, 12, 31), generated_at=GENERATED)
    md = render_document_markdown(year, None, charts={"monthly": "m.png"})
    heads = [line for line in md.splitlines() if line.startswith("## ")]
    assert heads == ["## 一、主要业务数据", "## 二、六件管理", "## 三、分月办理情况", "## 四、双休日正常办理",
                     "## 五、“应进不进”单位"]
    assert "前后对比" not in md and "m.png" in md
    data = render_document_pdf(year, None)
    assert pdf_images(data, tmp_path) == 1
    path = tmp_path / "y.pdf"
    path.write_bytes(data)
    assert "三、分月办理情况" in re.sub(r"\s+", "", pdf_text(path))


def test_the_cli_offers_the_document() -> None:
    out = subprocess.run([sys.executable, "-m", "tools.cli", "report", "--help"], capture_output=True, text=True,
                         timeout=60, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert "--document" in out.stdout


def test_the_command_writes_the_document_from_the_topics(kafka_bootstrap: str, tmp_path: Path) -> None:
    """`onewindow report --document` on the real broker. Events stamped in 2014, a year no other
    test uses; the items retired at the start of 2015 so later windows do not see them."""
    import asyncio

    from typer.testing import CliRunner

    from contracts.common import CaseKind
    from tests.report.events import accepted, at, decided, ended, item, publish, received, retired, wrap
    from tools.cli import app

    imm, pro = CaseKind.IMMEDIATE, CaseKind.PROMISED

    def case(no, it, day, kind, used):  # type: ignore[no-untyped-def]
        return [received(no, "RA", it, at(day)), accepted(no, "RA", it, at(day, 10, 5), kind),
                decided(no, "RA", it, at(day, 15), kind), ended(no, "RA", it, at(day, 15), kind, used=used)]

    gone = date(2015, 1, 2)
    asyncio.run(publish(kafka_bootstrap, wrap(
        item("RA-1", "RA", imm, published=date(2014, 1, 1)), item("RA-2", "RA", pro, published=date(2014, 1, 1)),
        *case("2014-RA-00001", "RA-2", date(2014, 3, 3), pro, 12),
        *case("2014-RA-00002", "RA-1", date(2014, 9, 1), imm, 0),
        *case("2014-RA-00003", "RA-2", date(2014, 9, 2), pro, 6),
        retired("RA-1", "RA", gone), retired("RA-2", "RA", gone),
    )))
    stem = tmp_path / "out" / "2014年报"
    result = CliRunner().invoke(app, ["report", "--from", "2014-01-01", "--to", "2014-12-31", "--json",
                                      "--bootstrap", kafka_bootstrap, "--document", str(stem),
                                      "--center-name", "青山县行政审批服务中心"])
    assert result.exit_code == 0, result.output
    md = stem.with_name("2014年报.md").read_text(encoding="utf-8")
    assert md.startswith("# 青山县行政审批服务中心2014年工作总结")
    assert "办结 3 件" in md and "| 2014-09 | 0 | 2 | 2 | 2 |" in md
    pdf = stem.with_name("2014年报.pdf")
    flat = re.sub(r"\s+", "", pdf_text(pdf))
    assert "青山县行政审批服务中心2014年工作总结" in flat and "办结3件" in flat and "6.0个工作日" in flat
    assert pdf_images(pdf.read_bytes(), tmp_path) == 1  # the months' chart (no comparison asked)
