"""Form classes. Every one carries a CSRF token; validation of meaning lives in the rule modules."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import InputRequired, Length


class EmptyForm(FlaskForm):
    """For button-only POSTs (sign out, unbind): just the CSRF token."""


class PhoneForm(FlaskForm):
    phone = StringField(
        _l("Mobile number"),
        validators=[
            InputRequired(_l("Enter a mobile number.")),
            Length(max=24, message=_l("That is too long for a mobile number.")),
        ],
    )
    next = HiddenField()


class CodeForm(FlaskForm):
    code = StringField(
        _l("6-digit code"),
        validators=[
            InputRequired(_l("Enter the code from the SMS.")),
            Length(max=12, message=_l("The code has 6 digits.")),
        ],
    )


class BindCardForm(FlaskForm):
    number = StringField(
        _l("Card's mobile number"),
        validators=[
            InputRequired(_l("Enter the card's mobile number.")),
            Length(max=24, message=_l("That is too long for a mobile number.")),
        ],
    )
    iccid = StringField(
        _l("ICCID (19-20 digits on the card)"),
        validators=[
            InputRequired(_l("Enter the ICCID printed on the card.")),
            Length(max=40, message=_l("That is too long for an ICCID: it has 19 or 20 digits.")),
        ],
    )
    nickname = StringField(
        _l("Nickname (optional)"),
        validators=[Length(max=40, message=_l("A nickname has at most %(count)s characters.", count=40))],
    )
    next = HiddenField()  # where to go once the card is added, e.g. back to the checkout


class NicknameForm(FlaskForm):
    nickname = StringField(
        _l("Nickname"),
        validators=[Length(max=40, message=_l("A nickname has at most %(count)s characters.", count=40))],
    )


class TopUpForm(FlaskForm):
    """Top up without signing in: the card's number twice and the last digits of its ICCID."""

    number = StringField(
        _l("Card's mobile number"),
        validators=[
            InputRequired(_l("Enter the card's mobile number.")),
            Length(max=24, message=_l("That is too long for a mobile number.")),
        ],
    )
    number_again = StringField(
        _l("The same number again"),
        validators=[
            InputRequired(_l("Type the card's number again.")),
            Length(max=24, message=_l("That is too long for a mobile number.")),
        ],
    )
    iccid_last4 = StringField(
        _l("Last 4 digits of the ICCID"),
        validators=[
            InputRequired(_l("Type the last 4 digits of the ICCID printed on the card.")),
            Length(max=12, message=_l("Type the last 4 digits of the ICCID printed on the card.")),
        ],
    )
