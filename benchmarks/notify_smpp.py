"""Messages per second through notify's SMPP provider, on loopback, against the external SMPP
peer (tests/peers/smpp_server.js on the npm ``smpp`` package).

    .venv/bin/python -m benchmarks.notify_smpp [--messages 2000] [--concurrency 1,8,32]

Each message is submitted the way the delivery worker does it (every part waits for its
submit_sm_resp before the next part goes); ``concurrency`` messages are in flight at once. The
peer answers every submit_sm and sends a delivery receipt for each part, which the provider
acknowledges on the same session, as in production. Bounded in count and time; loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import tempfile
import time
from pathlib import Path

from services.notify.domain import sms_text
from services.notify.providers.base import OutgoingSms
from services.notify.providers.smpp import SmppConfig, SmppProvider
from tests.peers.smpp import SmppPeer

SIGNATURE = "【示范县行政审批服务中心】"
SHORT = SIGNATURE + "张三您好，您申请的食品经营许可已受理（受理编号2025-SJJ-00042）。"
LONG = SIGNATURE + (
    "张三您好，您申请的食品经营许可（新办）需补正材料4项：1.营业执照复印件未加盖公章；2.缺少食品安全管理制度；"
    "3.经营场所平面图未标明设备布局；4.法定代表人身份证复印件已过有效期。请于5个工作日内一次性补齐。"
    "补正材料通知书：https://zw.example.gov.cn/s/Ab3dEf7h"
)


async def run_case(port: int, text: str, messages: int, concurrency: int, receipts: bool) -> dict:
    got_receipts = 0

    async def on_receipt(_):
        nonlocal got_receipts
        got_receipts += 1

    provider = SmppProvider(SmppConfig("127.0.0.1", port, "notify", "secret", source_addr="1069012345",
                                       registered_delivery=receipts))
    provider.on_receipt(on_receipt)
    await provider.start()
    assert await provider.wait_bound(10), "could not bind to the peer"
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(messages):
        queue.put_nowait(i)
    latencies: list[float] = []
    failures = 0

    async def worker() -> None:
        nonlocal failures
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            t0 = time.perf_counter()
            result = await provider.send(OutgoingSms(f"bench-{concurrency}-{i}", "13800138000", text))
            latencies.append(time.perf_counter() - t0)
            if result.outcome.value != "accepted":
                failures += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    parts = sms_text.measure(text).parts
    if receipts:  # let the receipts drain so they do not spill into the next case
        for _ in range(500):
            if got_receipts >= messages * parts:
                break
            await asyncio.sleep(0.02)
    await provider.stop()
    latencies.sort()
    return {
        "parts": parts, "messages": messages, "concurrency": concurrency, "seconds": elapsed,
        "msg_per_s": messages / elapsed, "parts_per_s": messages * parts / elapsed,
        "p50_ms": statistics.median(latencies) * 1000, "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "failures": failures, "receipts": got_receipts,
    }


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--concurrency", default="1,8,32")
    ap.add_argument("--no-receipts", action="store_true")
    args = ap.parse_args()
    levels = [int(x) for x in args.concurrency.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        peer = SmppPeer(Path(tmp) / "smsc.jsonl", extra_args=["--receipt-delay-ms", "1"]).start()
        try:
            rows = []
            for text in (SHORT, LONG):
                for c in levels:
                    rows.append(await run_case(peer.port, text, args.messages, c, not args.no_receipts))
        finally:
            peer.stop()
    print(f"# notify SMPP provider, loopback, {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}, receipts {'off' if args.no_receipts else 'on'}")
    print("| parts/message | concurrency | messages | msg/s | parts/s | p50 ms | p99 ms | failures |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['parts']} | {r['concurrency']} | {r['messages']} | {r['msg_per_s']:.0f} | {r['parts_per_s']:.0f} "
              f"| {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['failures']} |")


if __name__ == "__main__":
    asyncio.run(main())
