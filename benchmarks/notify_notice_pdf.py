"""notify's acceptance notice laid out as a PDF: CPU per notice with the wording's font subsets
kept across notices (``services/notify/adapters/notice_pdf.py``) against ReportLab alone
embedding the font for each notice (``reuse_subsets=False``, as before issue 19 goal 3), both in
one process, alternating rounds.

    .venv/bin/python -m benchmarks.notify_notice_pdf [--notices 80] [--rounds 3]

Each round lays out the same ``--notices`` acceptance notices both ways: four units, five items,
random applicants (one or two given names), dates over a year; the cache starts empty. Prints
each round and one line ``notice_pdf_kept_vs_alone: ratio=X.XX project=P peer=Q notices/s-cpu``
(ratio = project ÷ peer, in notices per CPU second).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from datetime import date, timedelta

from contracts.common import DocumentType
from services.notify.adapters import notice_pdf, rendering

UNITS = ["示范县市场监督管理局", "示范县公安局", "示范县自然资源局", "示范县卫生健康局"]
ITEMS = ["食品经营许可（新办）", "建设用地规划许可证核发", "公共场所卫生许可", "户口迁移审批", "药品零售企业许可"]
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志红"
#: The center's settings (usecases/notices.py), part of every notice's wording.
SETTINGS = frozenset({"center_name", "center_phone", "center_address", "reconsideration_body", "court"})


def context(i: int, rnd: random.Random) -> dict:
    day = date(2026, 1, 5) + timedelta(days=rnd.randrange(300))
    return {
        "unit_name": rnd.choice(UNITS), "item_name": rnd.choice(ITEMS),
        "applicant_name": rnd.choice(SURNAMES) + "".join(rnd.choice(GIVEN) for _ in range(rnd.choice((1, 2)))),
        "receipt_no": f"2026-FGJ-{i:05d}", "submitted_on": day, "issued_on": day,
        "document_no": f"县发改审受〔2026〕{i:04d}号", "center_name": "示范县行政审批服务中心",
        "center_phone": "0310-1234567", "center_address": "示范县人民路88号政务服务大厦一楼",
        "case_kind": "promised", "promised_days": rnd.choice((5, 10, 15, 20)), "due_date": day + timedelta(days=14),
    }


def one_round(n: int, seed: int, reuse: bool) -> tuple[float, float]:
    """CPU ms per notice and mean size in KiB, with or without the kept subsets (cache emptied)."""
    rnd = random.Random(seed)
    jobs = []
    for i in range(n):
        ctx = context(i, rnd)
        jobs.append((rendering.render_notice(DocumentType.ACCEPTANCE, ctx),
                     rendering.stable_text(DocumentType.ACCEPTANCE, ctx, keep=SETTINGS)))
    notice_pdf._SUBSETS.clear()
    notice_pdf._subsets_bytes = 0
    began = time.process_time()
    out = [notice_pdf.render_pdf(doc, stable_text=stable, reuse_subsets=reuse) for doc, stable in jobs]
    cpu = time.process_time() - began
    return cpu * 1000 / n, sum(len(o.pdf) for o in out) / n / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--notices", type=int, default=80)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    one_round(5, 0, True), one_round(5, 0, False)  # fonts loaded, code warmed
    print(f"load average before: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    ms: dict[bool, list[float]] = {True: [], False: []}
    for r in range(args.rounds):
        for reuse in (False, True):
            cpu_ms, kib = one_round(args.notices, 100 + r, reuse)
            ms[reuse].append(cpu_ms)
            print(f"round {r} {'kept subsets' if reuse else 'ReportLab alone'}: {cpu_ms:.2f} ms CPU per notice, "
                  f"{kib:.1f} KiB per notice")
    print(f"load average after: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    project, peer = 1000 / statistics.median(ms[True]), 1000 / statistics.median(ms[False])
    print(f"notice_pdf_kept_vs_alone: ratio={project / peer:.2f} project={project:.1f} peer={peer:.1f} notices/s-cpu")


if __name__ == "__main__":
    main()
