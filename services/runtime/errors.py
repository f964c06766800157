"""The one way a service refuses: a :class:`DomainError` carries the HTTP status, the field
concerned (when there is one) and a reason in zh-CN that a window clerk understands.

Pure Python (domain code raises these); the runtime turns every one into problem+json in one
place (``services/runtime/problems.py``), so no route translates errors by hand.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every refusal. Subclasses set ``status`` and ``title`` (the titles are the ones
    problem+json gives each status everywhere, ``services/runtime/problems.py``)."""

    status = 400
    title = "请求无法处理"

    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason


class InvalidInput(DomainError):
    """A value is wrong (bad check digit, a limit above the statutory one, ...)."""

    status = 422
    title = "提交的信息有误"


class NotFound(DomainError):
    status = 404
    title = "未找到"


class NotAllowed(DomainError):
    """The staff member's role or unit does not allow this."""

    status = 403
    title = "无权办理此事项"


class InvalidState(DomainError):
    """The case (item, seal, task, ...) is not in a state that allows this step."""

    status = 409
    title = "与当前状态冲突"


class Unavailable(DomainError):
    """Something this step needs is not there now (a seal not yet issued, a peer down)."""

    status = 503
    title = "服务暂不可用"
