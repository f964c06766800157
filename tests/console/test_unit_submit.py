"""``web.submit``: the one way a console form sends its request — the answer, or the service's
refusal as errors next to the form's fields; refusals of the sign-in or the role still go to
their own pages."""

from __future__ import annotations

from typing import Any

import pytest

from services.console.clients import BackendProblem
from services.console.web import submit

pytestmark = pytest.mark.timeout(10)


async def _answer(value: Any) -> Any:
    return value


async def _refuse(status: int, problem: dict[str, Any]) -> Any:
    raise BackendProblem("deadline", status, problem)


async def test_the_answer_and_no_errors() -> None:
    result, errors = await submit(_answer({"notice_no": "DB-1"}), ("reason",))
    assert result == {"notice_no": "DB-1"} and not errors


async def test_a_refusal_becomes_errors_next_to_the_fields() -> None:
    problem = {"detail": "提交的信息有误", "errors": [{"field": "reply_days", "reason": "回复期限应为1到30个工作日"},
                                                  {"field": "elsewhere", "reason": "别处的问题"}]}
    result, errors = await submit(_refuse(422, problem), ("reply_days",))
    assert result is None
    assert errors.fields == {"reply_days": "回复期限应为1到30个工作日"} and errors.general == ["别处的问题"]
    # aliases map the service's field names to the form's
    _, errors = await submit(_refuse(422, {"errors": [{"field": "unit_name", "reason": "单位不存在"}]}),
                             ("unit_code",), {"unit_name": "unit_code"})
    assert errors.fields == {"unit_code": "单位不存在"}
    # a refusal without fields is still an error (never an empty one that would pass as success)
    _, errors = await submit(_refuse(409, {"detail": "已发布"}), ())
    assert errors and errors.general == ["已发布"]


@pytest.mark.parametrize("status, passthrough", [(401, (401, 403)), (403, (401, 403)), (404, (401, 403, 404))])
async def test_sign_in_role_and_named_refusals_go_to_their_pages(status: int, passthrough: tuple[int, ...]) -> None:
    with pytest.raises(BackendProblem) as exc:
        await submit(_refuse(status, {"detail": "不可"}), ("reason",), passthrough=passthrough)
    assert exc.value.status == status


async def test_a_404_is_a_form_error_unless_named() -> None:
    _, errors = await submit(_refuse(404, {"detail": "没有这个事项"}), ("item_code",))
    assert errors.general == ["没有这个事项"]
