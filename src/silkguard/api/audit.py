"""Recording API actions in the tamper-evident audit trail."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from silkguard.auth import audit as audit_log
from silkguard.core.access import Principal
from silkguard.core.clock import utcnow

__all__ = ["audit"]


def audit(
    session: Session,
    request: Request,
    principal: Principal | None,
    action: str,
    object_id: uuid.UUID | str | None = None,
    detail: dict[str, Any] | None = None,
    *,
    object_type: str | None = None,
) -> None:
    """Append one audit entry in the request's transaction (it commits with the change)."""
    audit_log.record(
        session,
        action=action,
        actor=principal.actor if principal else "anonymous",
        org_id=principal.org_id if principal else None,
        object_type=object_type or action.split(".", maxsplit=1)[0],
        object_id=None if object_id is None else str(object_id),
        request_id=getattr(request.state, "request_id", None),
        detail=detail or {},
        now=utcnow(),
    )
