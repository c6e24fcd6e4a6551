"""The staff member acting, as the money and admin rules see them: any object with .id, .username, .role
(and .location_id for a partner).

The staff pages already check roles (staff_required); the rules check again so a CLI, a job or a new
page cannot do a supervisor's or an admin's action as an agent. A partner is outside the ranks: it acts
only at its own location (require_at), and nothing that needs a rank lets it in.
"""

from flask_babel import lazy_gettext as _l

RANKS = {"agent": 1, "supervisor": 2, "admin": 3}
PARTNER = "partner"


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


def require_at(actor, location_id: int | None, min_role: str = "agent") -> str:
    """require(actor, min_role), or a partner acting at its own location; else NotAllowed."""
    if getattr(actor, "role", None) == PARTNER:
        if location_id is None or getattr(actor, "location_id", None) != location_id:
            raise NotAllowed(_l("You can act only at your own location."))
        return str(actor.username)
    return require(actor, min_role)


def is_partner(actor) -> bool:
    return getattr(actor, "role", None) == PARTNER
