"""Who acts: the roles, the actor of a request, the system actor, and the one role rule.

A leaf: it imports nothing of the application, so every layer may use it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ROLES = ("applicant", "recommender", "reviewer", "officer", "admin")
SYSTEM_ROLE = "system"


def workflow_role(role: str) -> str:
    """The role a workflow definition names for `role`: an admin may do all an officer may."""
    return "officer" if role == "admin" else role


@dataclass(frozen=True)
class Actor:
    """A snapshot of the user behind a request, safe to pass between sessions."""

    id: int | None
    role: str
    email: str
    institution_id: int | None = None
    body_id: int | None = None
    name: str = ""

    @classmethod
    def of(cls, user: Any) -> "Actor":
        return cls(user.id, user.role, user.email, user.institution_id, user.body_id, user.name or "")

    @property
    def acts_as_officer(self) -> bool:
        return self.role in ("officer", "admin")

    @property
    def workflow_role(self) -> str:
        return workflow_role(self.role)


# Automatic transitions (quorum reached, milestone overdue) act as this actor.
SYSTEM = Actor(id=None, role=SYSTEM_ROLE, email="system")
