"""The staff member acting, as the money and admin rules see them: any object with .id, .username, .role.

The staff pages already check roles (staff_required); the rules check again so a CLI, a job or a new
page cannot do a supervisor's or an admin's action as an agent.
"""

from flask_babel import lazy_gettext as _l

RANKS = {"agent": 1, "supervisor": 2, "admin": 3}


class NotAllowed(PermissionError):
    """str() is a message for people."""


def require(actor, min_role: str) -> str:
    """The actor's username if their role is `min_role` or higher, else NotAllowed."""
    role = getattr(actor, "role", None)
    if RANKS.get(str(role), 0) < RANKS[min_role]:
        raise NotAllowed(_l("Your role cannot do this. Ask a %(role)s.", role=min_role))
    return str(actor.username)


def name(actor) -> str:
    return str(getattr(actor, "username", "") or "")
