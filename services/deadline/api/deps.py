"""What the deadline routes take besides the runtime's dependencies: the service's shared state."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ..usecases.shared import DeadlineState, state_of


def get_state(request: Request) -> DeadlineState:
    return state_of(request.app.state.service)


State = Annotated[DeadlineState, Depends(get_state)]
