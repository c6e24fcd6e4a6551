"""The admin's location form: every field of a location record; rules.shops.places checks what they mean."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField
from wtforms.validators import Length


class LocationForm(FlaskForm):
    code = StringField(_l("Code (in links and payments; it stays)"), validators=[Length(max=40)])
    kind = SelectField(_l("Kind"), choices=[], validate_choice=False)
    district = SelectField(_l("District"), choices=[], validate_choice=False)
    name_en = StringField(_l("Name in English"), validators=[Length(max=120)])
    name_zh_hans = StringField(_l("Name in Simplified Chinese"), validators=[Length(max=120)])
    name_zh_hant = StringField(_l("Name in Traditional Chinese"), validators=[Length(max=120)])
    address_en = StringField(_l("Address in English"), validators=[Length(max=300)])
    address_zh_hans = StringField(_l("Address in Simplified Chinese"), validators=[Length(max=300)])
    address_zh_hant = StringField(_l("Address in Traditional Chinese"), validators=[Length(max=300)])
    hours = StringField(_l("Opening hours"), validators=[Length(max=200)])
    open_on_holidays = BooleanField(_l("Open on public holidays (Sunday's hours)"))
    temporarily_closed = BooleanField(_l("Temporarily closed"))
    renews = BooleanField(_l("Renews data"))
    sells_sims = BooleanField(_l("Sells new SIM cards"))
    takes_cash = BooleanField(_l("Takes cash"))
    latitude = StringField(_l("Latitude"), validators=[Length(max=20)])
    longitude = StringField(_l("Longitude"), validators=[Length(max=20)])
    version = HiddenField()  # the record as the form was opened: a change since refuses the save

    def values(self) -> dict:
        """What was posted, as plain values for the rule (booleans as "1" or "")."""
        return {
            f.name: ("1" if f.data else "") if isinstance(f, BooleanField) else (f.data or "")
            for f in self
            if f.name not in ("csrf_token", "version")
        }
