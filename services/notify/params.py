"""notify's own request value types (the shared ones, free text, keys and offsets, are in
services/runtime/params.py)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

#: A message template's name as stored (``notice_acceptance``, ``survey`` ...).
TemplateName = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[a-z0-9_]+$")]
