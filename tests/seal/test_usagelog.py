from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.seal.domain.usagelog import GENESIS, LogEntry, append, entry_hash, verify_chain

T = datetime(2024, 8, 5, 2, 0, tzinfo=UTC)


def log(n: int) -> list[LogEntry]:
    out: list[LogEntry] = []
    for i in range(n):
        out.append(append(out[-1] if out else None, at=T + timedelta(minutes=i), action="sealed", unit_code="SCJG",
                          seal_id="s2", document_no=f"SCJG-2024-{i + 1:06d}", request_id=f"r{i}",
                          detail={"document_type": "acceptance", "sha256": f"{i:064x}"}))
    return out


def test_chain_links_every_entry_to_the_previous_one() -> None:
    entries = log(5)
    assert entries[0].prev_hash == GENESIS and entries[0].seq == 1
    assert all(b.prev_hash == a.hash for a, b in zip(entries, entries[1:]))
    report = verify_chain(entries)
    assert report.ok and report.entries == 5 and report.first_broken is None and report.head == entries[-1].hash


def test_a_forged_entry_is_found_by_its_number() -> None:
    entries = log(6)
    forged = dataclasses.replace(entries[2], detail={**entries[2].detail, "document_type": "approval"})
    report = verify_chain(entries[:2] + [forged] + entries[3:])
    assert not report.ok and report.first_broken == 3 and "hash" in report.problem
    assert report.entries == 2


def test_a_forger_who_rehashes_the_entry_breaks_the_next_link() -> None:
    entries = log(6)
    changed = dataclasses.replace(entries[3], unit_code="MZJ")
    rehashed = dataclasses.replace(changed, hash=entry_hash(changed.prev_hash, changed.content()))
    report = verify_chain(entries[:3] + [rehashed] + entries[4:])
    assert not report.ok and report.first_broken == 5 and "prev_hash" in report.problem


def test_removed_and_reordered_entries_are_found() -> None:
    entries = log(5)
    report = verify_chain(entries[:2] + entries[3:])
    assert not report.ok and report.first_broken == 3
    report = verify_chain([entries[1], entries[0]] + entries[2:])
    assert not report.ok and report.first_broken == 1


@settings(max_examples=30, deadline=None)
@given(n=st.integers(min_value=1, max_value=12), data=st.data())
def test_any_single_change_is_caught_at_or_before_its_entry(n: int, data: st.DataObject) -> None:
    entries = log(n)
    k = data.draw(st.integers(min_value=0, max_value=n - 1))
    field = data.draw(st.sampled_from(["action", "unit_code", "seal_id", "document_no", "request_id"]))
    entries[k] = dataclasses.replace(entries[k], **{field: "tampered"})
    report = verify_chain(entries)
    assert not report.ok and report.first_broken == k + 1
