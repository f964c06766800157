"""The runtime every OneWindow service stands on (see README.md in this folder)."""

from .app import Service
from .auth import PUBLIC, CenterAdmin, CurrentStaff, Staff, Supervisor, UnitHead, require_roles
from .consumer import Batch, HandlerContext, Reject
from .db import service_registry
from .deps import ServiceDep, UoW
from .problems import Problem
from .settings import ServiceSettings
from .uow import UnitOfWork

__all__ = [
    "PUBLIC", "Batch", "CenterAdmin", "CurrentStaff", "HandlerContext", "Problem", "Reject", "Service", "ServiceDep",
    "ServiceSettings", "Staff", "Supervisor", "UnitHead", "UnitOfWork", "UoW", "require_roles", "service_registry",
]
