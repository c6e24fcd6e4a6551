"""The staff area's forms. Each carries a CSRF token; the rules check what the values mean."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length


class StaffLoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[InputRequired(_l("Enter your username.")), Length(max=40)])
    password = PasswordField(_l("Password"), validators=[InputRequired(_l("Enter your password.")), Length(max=256)])
    next = HiddenField()


class TotpForm(FlaskForm):
    code = StringField(
        _l("6-digit code from your authenticator app"),
        validators=[InputRequired(_l("Enter the code your app shows.")), Length(max=12)],
    )


def _reason(label, field_id: str) -> StringField:
    # Several of these forms share a page: each input gets its own id, so each label finds its input.
    return StringField(label, id=field_id, validators=[Length(max=500, message=_l("Keep the reason short."))])


class RevealForm(FlaskForm):
    reason = _reason(_l("Reason"), "reveal-reason")


class ResendForm(FlaskForm):
    """Which message (the button pressed), a request id (one message per click), and why."""

    reason = _reason(_l("Reason (optional)"), "resend-reason")
    kind = HiddenField()
    request_id = HiddenField()


class RetryForm(FlaskForm):
    reason = _reason(_l("Reason (optional)"), "retry-reason")


class AddedByHandForm(FlaskForm):
    reference = StringField(_l("Carrier's reference"), validators=[Length(max=80)])
    reason = _reason(_l("Reason (optional)"), "added-reason")


class NoteForm(FlaskForm):
    body = TextAreaField(_l("Note"), validators=[Length(max=2000, message=_l("A note has at most 2000 characters."))])
