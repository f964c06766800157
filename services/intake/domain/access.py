"""Who may do what (pure rules; the API resolves the staff member from the JWT).

- clerk / unit head: act only for their own unit (cases of their unit's items, joint tasks
  addressed to their unit, their unit's rectifications);
- supervisor (督查): reads everything, allows a further supplement request (override);
- center admin: the catalog, and everything a supervisor may do.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.common import Role

from services.runtime.errors import NotAllowed

UNIT_ROLES = frozenset({Role.CLERK, Role.UNIT_HEAD})
OVERSIGHT_ROLES = frozenset({Role.SUPERVISOR, Role.CENTER_ADMIN})


@dataclass(frozen=True)
class Actor:
    staff_id: str
    role: Role
    unit_code: str | None = None

    @property
    def oversees(self) -> bool:
        return self.role in OVERSIGHT_ROLES


def require_unit_staff(actor: Actor, unit_code: str) -> None:
    """Clerks and unit heads act only for their own unit."""
    if actor.role not in UNIT_ROLES:
        raise NotAllowed(None, "此操作须由窗口单位工作人员办理")
    if actor.unit_code != unit_code:
        raise NotAllowed(None, "只能办理本单位的业务")


def require_oversight(actor: Actor) -> None:
    if actor.role not in OVERSIGHT_ROLES:
        raise NotAllowed(None, "此操作须由中心督查人员或管理员办理")


def require_center_admin(actor: Actor) -> None:
    if actor.role is not Role.CENTER_ADMIN:
        raise NotAllowed(None, "此操作须由中心管理员办理")


def may_read_unit(actor: Actor, unit_code: str) -> bool:
    return actor.oversees or actor.unit_code == unit_code
