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
    """Agents give the ICCID to register a new card; partners find a known card by the ICCID's last 4 digits
    and record the ID shown as its kind and last 4 characters."""

    card_number = StringField(_l("Card number"), validators=[Length(max=40)])
    iccid = StringField(_l("ICCID (optional)"), validators=[Length(max=40)])
    iccid_last4 = StringField(_l("Last 4 digits of the ICCID"), validators=[Length(max=10)])
    id_kind = SelectField(_l("ID shown"), choices=[], validate_choice=False)
    id_last4 = StringField(_l("Last 4 characters of the ID"), validators=[Length(max=10)])
    plan = SelectField(_l("Plan"), choices=[], validate_choice=False)
    method = SelectField(_l("Paid with"), choices=[], validate_choice=False)
    location = SelectField(_l("Counter location"), choices=[], validate_choice=False)
    location_version = HiddenField()  # the location as step one showed it: an edit since refuses step two
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


class DayCloseForm(FlaskForm):
    """Close one location's Hong Kong day: which location and which day, as the page showed them."""

    location = HiddenField()
    day = HiddenField()
    payments = HiddenField()  # how many payments the page showed: the close is of those figures


class DayCorrectionForm(FlaskForm):
    """A supervisor's late correction to a closed day: a new entry, signed amount, and why."""

    location = HiddenField()
    day = HiddenField()
    method = SelectField(_l("Method"), choices=[], validate_choice=False)
    amount = StringField(_l("Correction (HK$, minus for less)"), id="correction-amount", validators=[Length(max=20)])
    reason = StringField(_l("Reason"), id="correction-reason", validators=[Length(max=200)])
