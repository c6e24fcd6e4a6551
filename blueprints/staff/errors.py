"""The staff area's own error pages: in the staff layout, in words for staff (a 403 names the missing
permission; a 500 says the change may have been made, not the travellers' "nothing was charged twice")."""

import logging

from flask import Response
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from blueprints.staff import bp
from extensions import db
from web.rendering import render_page

log = logging.getLogger(__name__)


def _staff_error_page(error: HTTPException, status: int):
    return render_page("staff/error.html", status=status, error=error)


@bp.errorhandler(403)
@bp.errorhandler(404)
def refused(error: HTTPException):
    return _staff_error_page(error, error.code or 403)


@bp.errorhandler(500)
def failed(error: HTTPException):
    try:
        db.session.rollback()
    except SQLAlchemyError:  # the connection is gone: nothing to roll back
        log.warning("rollback failed on a staff page: the database connection is gone")
    try:
        return _staff_error_page(error, 500)
    except Exception:  # the staff layout itself failed (it reads the signed-in staff): a page without it
        log.exception("the staff error page could not be shown")
        return Response("Something went wrong on our side.", 500, mimetype="text/plain")
