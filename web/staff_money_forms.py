"""The forms of the staff money actions: refund, cancel an unpaid order, counter payment.

Each carries a CSRF token; the rules check what the values mean (amounts, plans, card numbers).
"""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import Length


class RefundForm(FlaskForm):
    """Step one: amount and reason. Step two (confirm=1) repeats them with the request id that makes it once."""

    amount = StringField(_l("Amount to refund (HK$)"), id="refund-amount", validators=[Length(max=20)])
    reason = StringField(_l("Reason"), id="refund-reason", validators=[Length(max=500)])
    request_id = HiddenField()
    confirm = HiddenField()


class CancelForm(FlaskForm):
    reason = StringField(_l("Reason"), id="cancel-reason", validators=[Length(max=500)])


class CounterForm(FlaskForm):
    card_number = StringField(_l("Card number"), validators=[Length(max=40)])
    iccid = StringField(_l("ICCID (optional)"), validators=[Length(max=40)])
    plan = SelectField(_l("Plan"), choices=[], validate_choice=False)
    method = SelectField(_l("Paid with"), choices=[], validate_choice=False)
    location = StringField(_l("Counter location"), validators=[Length(max=80)])
    reference = StringField(_l("Your reference (optional)"), validators=[Length(max=80)])
    locale = SelectField(_l("Traveller's language"), choices=[], validate_choice=False)
    promo_code = StringField(_l("Promo code (optional)"), validators=[Length(max=40)])
    request_id = HiddenField()
    quoted = HiddenField()  # the total step one showed, in cents: step two records only that figure
    confirm = HiddenField()


class RefundAskForm(FlaskForm):
    """An agent asks a supervisor to refund: how much and why."""

    amount = StringField(_l("Amount to refund (HK$)"), id="ask-amount", validators=[Length(max=20)])
    reason = StringField(_l("Reason"), id="ask-reason", validators=[Length(max=500)])


class RefundDecisionForm(FlaskForm):
    """A supervisor approves or rejects one request (a reason is needed to reject)."""

    refund_request = HiddenField()
    reason = StringField(_l("Reason"), validators=[Length(max=500)])
