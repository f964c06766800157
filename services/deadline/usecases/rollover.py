"""The watcher's batch of clocks at speed: what one clock's row and cards become, worked out by
the domain once per *kind* of clock in a tick and then applied to every clock of that kind.

At a midnight the clocks whose card is due differ mostly in who they are (receipt number, unit,
item); what the domain decides for them -- which cards, the alert columns after -- depends only
on a few stored values. For a clock that runs (no stop, no extension, not decided), with
``now``, the calendar and the thresholds fixed for the tick, :meth:`Clock.check_alerts`,
:func:`store.alert_columns` and :func:`store.changed_alerts` read nothing but the due date, the
statutory due date, the promised limit, the fired cards and whether a yellow card was pending
(:data:`Plan` keys). So the first clock of each such key is checked by the domain itself, exactly
as before, and what it gave becomes the key's :class:`Plan`: the changed columns with their
values already rendered for the batch statement, and per card its payload JSON split around the
three identity fields (filled in per clock; they are pattern-checked ASCII, validated with the
contract's own types, and need no escaping). A plan is only kept when it reproduces the domain's
own payload bytes for the clock it came from. Every other clock (stopped, extended, decided, an
identity the contract would refuse) goes through the domain one by one, as before.

What is written per clock stays the same (proved in ``tests/deadline/test_deadline_rollover.py``
against the domain and ``uow.emit`` on a mixed set of clocks): the same columns and values, the
same outbox rows (ids ``uuid5`` as :func:`shared.derived_id`, topic, key, the headers' JSON text,
the payload bytes), in the same order.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from contracts.base import Event
from contracts.common import ItemCode, ReceiptNo, UnitCode
from contracts.deadline import DeadlineMissed, DeadlineWarned
from services.runtime.workdays import WorkCalendar

from .. import store
from ..domain.clock import OVERDUE, warn_key
from .shared import _NS_BYTES, uuid5_text

# The contract's own validators for the identity fields (the slow path's events validate them too).
_RECEIPT = TypeAdapter(ReceiptNo).validate_python
_UNIT = TypeAdapter(UnitCode).validate_python
_ITEM = TypeAdapter(ItemCode).validate_python
#: Characters a JSON string holds as they are (no escape; ASCII): what may be pasted between segments.
_PLAIN = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]+").fullmatch
#: Stand-ins for the identity fields while a plan's payloads are dumped (control characters:
#: JSON escapes them, so their escaped form cannot occur anywhere else in a payload).
_STAND_INS = {"receipt_no": "\x01", "unit_code": "\x02", "item_code": "\x03"}
_SPLIT = re.compile(r"\\u000([123])")
_FIELD_OF = {"1": 0, "2": 1, "3": 2}  # which of (receipt_no, unit_code, item_code)

_encode = store.json_string


@dataclass(slots=True)
class Card:
    """One card of a plan: its class, its key in ``fired`` (the id's last part) and its payload
    as segments around the identity fields, raw and JSON-escaped."""

    cls: type[Event]
    card_key: str
    threshold: int | None
    fields: tuple[int, ...]
    raw: tuple[str, ...]
    escaped: tuple[str, ...]

    def payload(self, ident: Sequence[str]) -> str:
        raw = self.raw
        out = raw[0]
        for i, f in enumerate(self.fields):
            out += ident[f] + raw[i + 1]
        return out


@dataclass(slots=True)
class Plan:
    """What the domain decided for one kind of clock (see the module's docstring)."""

    columns: tuple[str, ...]
    #: The changed alert columns' values as JSON array items (``,v1,v2``), for the batch statement.
    tail: str
    cards: tuple[Card, ...]
    due_at: datetime | None
    next_warning_at: datetime | None


def _card(event: Event, sqlite: bool) -> Card | None:
    """``event``'s payload split around its identity fields; None when it does not reproduce
    ``event``'s own bytes (then the clocks of that kind take the domain's path)."""
    stand_in = event.model_copy(update={k: v for k, v in _STAND_INS.items() if k in type(event).model_fields})
    dumped = stand_in.model_dump_json()
    parts = _SPLIT.split(dumped)
    raw = tuple(parts[0::2])
    fields = tuple(_FIELD_OF[p] for p in parts[1::2])
    card_key = warn_key(event.threshold_days) if isinstance(event, DeadlineWarned) else OVERDUE  # type: ignore[attr-defined]
    threshold = event.threshold_days if isinstance(event, DeadlineWarned) else None  # type: ignore[attr-defined]
    card = Card(type(event), card_key, threshold, fields, raw, tuple(store.json_string(p)[1:-1] for p in raw))
    ident = (event.receipt_no, event.unit_code, event.item_code)  # type: ignore[attr-defined]
    if card.payload(ident) != event.model_dump_json():
        return None
    return card


@dataclass
class Batch:
    """One transaction's writes, rendered for :func:`store.write_alert_rows` and
    :func:`store.add_outbox_json`, and what to count after the commit."""

    updates: dict[tuple[str, ...], list[str]] = field(default_factory=dict)
    cards: list[str] = field(default_factory=list)
    warnings: dict[int, int] = field(default_factory=dict)
    overdue: int = 0
    nudges: list[datetime | None] = field(default_factory=list)


class Rollover:
    """The plans of one tick (``now``, the thresholds; reset when the calendar changes) and the
    rendering of a batch's rows. ``sqlite``: the dialect the values are rendered for."""

    def __init__(self, now: datetime, thresholds: Sequence[int], sqlite: bool, source: str) -> None:
        self.now = now
        self.thresholds = thresholds
        self.sqlite = sqlite
        self.source = source
        self.cal: WorkCalendar | None = None
        self.plans: dict[tuple[Any, ...], Plan | None] = {}
        self.units: set[str] = set()
        self.items: set[str] = set()
        self._id_hash = hashlib.sha1(_NS_BYTES + b"card|")

    # -- per batch -------------------------------------------------------------------------

    def begin(self, cal: WorkCalendar, ce_time: str, wall: datetime) -> Batch:
        """A new batch: the values it shares (the ``ce_time`` of its cards, the wall instant of
        ``updated_at`` and ``created_at``) rendered once."""
        if cal is not self.cal:
            self.cal, self.plans = cal, {}
        wall_json = store.json_value(self.sqlite, wall)
        self._end = "," + wall_json + "]"
        self._created = "," + wall_json + "]"
        self._ce_time = ce_time
        self._headers: dict[type[Event], tuple[str, str, str]] = {}
        self._rows: dict[int, str] = {}
        return Batch()

    def _header_parts(self, cls: type[Event]) -> tuple[str, str, str]:
        """The headers' JSON text (as :func:`store.outbox_row` writes it), JSON-escaped, split
        around the event id and the key; with the topic's JSON text."""
        parts = self._headers.get(cls)
        if parts is None:
            text = store.outbox_headers("\x01", self.source, cls.ce_type(), self._ce_time, "\x02")
            escaped = store.json_string(text)
            # The stand-ins are escaped twice: once in the headers' text, once in the row's JSON.
            head, rest = escaped.split("\\\\u0001")
            mid, tail = rest.split("\\\\u0002")
            parts = self._headers[cls] = (head, mid, tail)
        return parts

    def _row_template(self, card: Card) -> str:
        """The card's outbox row as the batch statement's JSON array text, a ``str.format``
        template of the receipt number ({0}), unit ({1}), item ({2}) and event id ({3})."""
        tpl = self._rows.get(id(card))
        if tpl is None:
            def lit(text: str) -> str:
                return text.replace("{", "{{").replace("}", "}}")

            head, mid, tail = self._header_parts(card.cls)
            payload = lit(card.escaped[0]) + "".join(
                "{%d}" % f + lit(card.escaped[i + 1]) for i, f in enumerate(card.fields)
            )
            tpl = self._rows[id(card)] = (
                '["{3}",' + lit(_TOPICS[card.cls]) + ',"{0}",' + lit(head) + "{3}" + lit(mid) + "{0}" + lit(tail)
                + ',"' + payload + '"' + lit(self._created)
            )
        return tpl

    def add(self, batch: Batch, values: Sequence[Any]) -> list[Event] | None:
        """Add one due clock (a row of :func:`store.due_clocks`) to ``batch``. Returns None when
        a plan did it, else the events the domain gave (the clock went the domain's way)."""
        (receipt_no, unit_code, item_code, _kind, _accepted_at, promised_days, _statutory_days, _item_version, stops,
         extensions, decided_at, _outcome, fired, due_date, statutory_due_date, _provisional, _cal_version,
         warning_pending, locator) = values
        plan = None
        if stops == "[]" and extensions == "[]" and decided_at is None and self._plain(receipt_no, unit_code, item_code):
            key = (due_date, statutory_due_date, promised_days, fired, bool(warning_pending))
            try:
                plan = self.plans[key]
            except KeyError:
                return self._domain(batch, values, key)
        if plan is None:
            return self._domain(batch, values, None)
        self._apply(batch, plan, locator, receipt_no, unit_code, item_code)
        return None

    def _plain(self, receipt_no: str, unit_code: str, item_code: str) -> bool:
        """The identity fields pass the contract's validators and need no JSON escape."""
        try:
            if unit_code not in self.units:
                _UNIT(unit_code)
                if not _PLAIN(unit_code):
                    return False
                self.units.add(unit_code)
            if item_code not in self.items:
                _ITEM(item_code)
                if not _PLAIN(item_code):
                    return False
                self.items.add(item_code)
            _RECEIPT(receipt_no)
        except ValidationError:
            return False
        return _PLAIN(receipt_no) is not None

    def _apply(self, batch: Batch, plan: Plan, locator: Any, receipt_no: str, unit_code: str, item_code: str) -> None:
        # The locator is SQLite's rowid (an int) or the receipt number (plain, see _plain).
        loc = str(locator) if type(locator) is int else '"' + locator + '"'
        batch.updates.setdefault(plan.columns, []).append("[" + loc + plan.tail + self._end)
        for card in plan.cards:
            h = self._id_hash.copy()
            h.update((receipt_no + "|" + card.card_key).encode())
            batch.cards.append(
                self._row_template(card).format(receipt_no, unit_code, item_code, uuid5_text(h.digest()))
            )
            if card.threshold is None:
                batch.overdue += 1
            else:
                batch.warnings[card.threshold] = batch.warnings.get(card.threshold, 0) + 1
        batch.nudges.append(plan.due_at)
        batch.nudges.append(plan.next_warning_at)

    def _domain(self, batch: Batch, values: Sequence[Any], key: tuple[Any, ...] | None) -> list[Event]:
        """The domain's own path for one clock (and, with ``key``, the plan it makes)."""
        from .watch import card_id  # the card ids' one definition

        assert self.cal is not None
        taken = store.due_clock(values, self.sqlite)
        clock = taken.clock
        old_due_at = clock.due_at()
        events = clock.check_alerts(self.cal, now=self.now, thresholds=self.thresholds)
        alerts = store.alert_columns(clock, self.cal, self.thresholds)
        columns = store.changed_alerts(taken, alerts, old_due_at)
        tail = "".join(
            "," + (_encode(store.json_strings(alerts[c])) if c == "fired" else store.json_value(self.sqlite, alerts[c]))
            for c in columns
        )
        batch.updates.setdefault(columns, []).append("[" + store.json_value(self.sqlite, values[18]) + tail + self._end)
        for e in events:
            row = store.outbox_row(e, card_id(e), self.source, self._ce_time, datetime.min)
            batch.cards.append(
                "[" + ",".join(store.json_value(self.sqlite, row[name]) for name in store.OUTBOX_COLUMNS[:-1])
                + self._created
            )
        batch.nudges.append(alerts["due_at"])
        batch.nudges.append(alerts["next_warning_at"])
        if key is not None:
            cards = tuple(_card(e, self.sqlite) for e in events)
            plan = None
            if all(c is not None for c in cards) and all(type(e) in _TOPICS for e in events):
                plan = Plan(columns, tail, cards, alerts["due_at"], alerts["next_warning_at"])  # type: ignore[arg-type]
            self.plans[key] = plan
        return events


_TOPICS = {cls: store.json_string(cls.topic) for cls in (DeadlineWarned, DeadlineMissed)}
