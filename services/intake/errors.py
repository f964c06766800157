"""The refusals of intake's rules. Each carries the field concerned (when there is one) and a
reason in zh-CN that a window clerk understands; the API turns them into problem+json."""

from __future__ import annotations


class IntakeError(Exception):
    """Base of every refusal. ``status`` is the HTTP status the API answers with."""

    status = 400
    title = "请求无法处理"

    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason


class InvalidInput(IntakeError):
    """A value is wrong (bad check digit, promised limit above the statutory one, ...)."""

    status = 422
    title = "填写内容有误"


class NotFound(IntakeError):
    status = 404
    title = "未找到"


class NotAllowed(IntakeError):
    """The staff member's role or unit does not allow this."""

    status = 403
    title = "无权办理"


class InvalidState(IntakeError):
    """The case (item, task) is not in a state that allows this step."""

    status = 409
    title = "当前状态不能办理此操作"
