"""The six kinds of cases (六件管理) as one table: per :class:`~contracts.common.CaseKind`, the rules
that used to be scattered ``is CaseKind.X`` checks.

A new kind is one row here (plus its label in ``contracts.common`` and its notice templates):

- ``item_kind``: an approval item of the catalog can have this kind (supplement 补办件 and
  returned 退回件 are what happens to a case, not kinds of items);
- ``on_the_spot``: decided at the window the day it is accepted (即办件): the item's promised
  limit is 0 working days, and every other item kind needs at least one;
- ``joint_tasks``: accepting the case opens one task for every participating unit (联办件),
  decided when all have answered (one refusal refuses);
- ``forwarded``: forwarded to a higher authority (上报件), resumed and decided with its answer;
- ``clock_on_acceptance``: the deadline service starts a clock when the case is accepted;
- ``acceptance_notices``: the written notices sent when the case is accepted (an immediate
  case gets none: the decision itself is the written notice);
- ``notices``: every notice a case of the kind can produce;
- ``steps``: the transitions a case of the kind may take (see :class:`CaseStep`).

Pure data, no I/O: services read it (intake's catalog and case rules; notify, deadline and the
reporting tools may too).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from .common import CaseKind, DocumentType


class CaseStep(StrEnum):
    """The transitions of a case (intake's ``Application`` methods)."""

    RECEIVE = "receive"                      # 收件
    ACCEPT = "accept"                        # 受理
    REQUEST_SUPPLEMENT = "request_supplement"  # 一次性告知 / 审查中补正
    PROVIDE_SUPPLEMENT = "provide_supplement"  # 接收补正材料
    NOT_ACCEPT = "not_accept"                # 不予受理（退回）
    OPEN_JOINT_TASKS = "open_joint_tasks"    # 发起联办
    ANSWER_JOINT_TASK = "answer_joint_task"  # 联办单位答复
    FORWARD = "forward"                      # 上报上级机关
    RECORD_HIGHER_ANSWER = "record_higher_answer"  # 录入上级机关答复
    DECIDE = "decide"                        # 作出决定
    RATE = "rate"                            # 好差评


#: What every case received under an item may do, whatever its kind.
COMMON_STEPS = frozenset({
    CaseStep.RECEIVE, CaseStep.ACCEPT, CaseStep.REQUEST_SUPPLEMENT, CaseStep.PROVIDE_SUPPLEMENT,
    CaseStep.NOT_ACCEPT, CaseStep.DECIDE, CaseStep.RATE,
})

_DECISIONS = (DocumentType.APPROVAL, DocumentType.DENIAL)
_BEFORE_ACCEPTANCE = (DocumentType.SUPPLEMENT, DocumentType.NOT_ACCEPTED)


@dataclass(frozen=True)
class KindRules:
    kind: CaseKind
    item_kind: bool
    on_the_spot: bool = False
    joint_tasks: bool = False
    forwarded: bool = False
    clock_on_acceptance: bool = False
    acceptance_notices: tuple[DocumentType, ...] = ()
    notices: tuple[DocumentType, ...] = ()
    steps: frozenset[CaseStep] = frozenset()

    @property
    def label(self) -> str:
        return self.kind.label

    def allows(self, step: CaseStep) -> bool:
        return step in self.steps


_TABLE = (
    KindRules(
        CaseKind.IMMEDIATE, item_kind=True, on_the_spot=True, clock_on_acceptance=True,
        acceptance_notices=(), notices=_BEFORE_ACCEPTANCE + _DECISIONS, steps=COMMON_STEPS,
    ),
    KindRules(
        CaseKind.PROMISED, item_kind=True, clock_on_acceptance=True,
        acceptance_notices=(DocumentType.ACCEPTANCE,),
        notices=_BEFORE_ACCEPTANCE + (DocumentType.ACCEPTANCE,) + _DECISIONS, steps=COMMON_STEPS,
    ),
    KindRules(
        CaseKind.JOINT, item_kind=True, joint_tasks=True, clock_on_acceptance=True,
        acceptance_notices=(DocumentType.ACCEPTANCE, DocumentType.JOINT),
        notices=_BEFORE_ACCEPTANCE + (DocumentType.ACCEPTANCE, DocumentType.JOINT) + _DECISIONS,
        steps=COMMON_STEPS | {CaseStep.OPEN_JOINT_TASKS, CaseStep.ANSWER_JOINT_TASK},
    ),
    KindRules(
        CaseKind.REPORTED_UP, item_kind=True, forwarded=True, clock_on_acceptance=True,
        acceptance_notices=(DocumentType.ACCEPTANCE,),
        notices=_BEFORE_ACCEPTANCE + (DocumentType.ACCEPTANCE, DocumentType.FORWARDED) + _DECISIONS,
        steps=COMMON_STEPS | {CaseStep.FORWARD, CaseStep.RECORD_HIGHER_ANSWER},
    ),
    # What happens to a case, not a kind of item: a case is counted under these instead of its
    # item's kind (intake's ``Application.six_kind``).
    KindRules(CaseKind.SUPPLEMENT, item_kind=False, notices=(DocumentType.SUPPLEMENT,)),
    KindRules(CaseKind.RETURNED, item_kind=False, notices=(DocumentType.NOT_ACCEPTED,)),
)

#: Every kind's rules.
KINDS: Mapping[CaseKind, KindRules] = MappingProxyType({r.kind: r for r in _TABLE})

#: The kinds an item of the catalog can have, in the table's order.
ITEM_KINDS: tuple[CaseKind, ...] = tuple(r.kind for r in _TABLE if r.item_kind)


#: The kinds decided on the spot (their values, as stored and counted).
ON_THE_SPOT: frozenset[str] = frozenset(r.kind.value for r in _TABLE if r.on_the_spot)


def rules_of(kind: CaseKind) -> KindRules:
    return KINDS[kind]


assert set(KINDS) == set(CaseKind), "every case kind needs a row in contracts/kinds.py"
