"""The attendance service's HTTP API, one router per resource (paths under ``/attendance``, the
terminals' under ``/iclock``). Routes are thin: parse (``schemas``), call a use case, shape the
answer; refusals are ``services.runtime.errors`` raised by the use cases."""

from __future__ import annotations

from fastapi import APIRouter

from . import (
    assessments, devices, duty, evaluation, iclock, leaves, posts, presence, reports, staff, trainings, violations,
)

#: Every router of the service, in the order ``app.py`` includes them.
ROUTERS: tuple[APIRouter, ...] = (
    iclock.router,
    devices.router,
    staff.router,
    posts.router,
    trainings.router,
    leaves.router,
    duty.router,
    presence.router,
    reports.router,
    evaluation.router,
    violations.router,
    assessments.router,
)
