"""The catalogue admin's forms: plans and promotion codes, created and edited by admins.

Each field reads what was typed (its spaces tidied) into a Python value, or keeps one message for people
beside it. Every field is read, so the page shows all of a form's mistakes at once. What the values mean
together (a code already taken, a sale below the price, an end after the start) is for the rules
(rules.offers.catalogue_admin), which get `form.values()` and `form.mistakes()` and refuse with both.

Use (a view):
    form = PlanForm()            # on POST, the posted fields; PlanForm.of(plan) shows a plan to edit
    form.validate()
    catalogue_admin.update_plan(plan, form.values(), actor, form.mistakes())   # CatalogueRefused
"""

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import StopValidation, ValidationError
from wtforms.widgets import NumberInput

from models import Plan, Promotion
from rules.offers import catalogue, promotions
from rules.offers.catalogue_admin import CURRENCIES, PLAN_CODE, PROMO_CODE, PlanValues, PromotionValues
from rules.text import money_text
from rules.text.formatting import FIRST_DAY, HONG_KONG, LAST_DAY

TIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d")
TICKED = {"1", "on", "true", "yes", "y"}


def tidy(text: str | None) -> str:
    """Runs of spaces made one, none around."""
    return " ".join((text or "").split())


def hk_time(text: str) -> datetime | None:
    """A Hong Kong local time as typed ("2026-12-01 09:00", a datetime-local field, or a date) -> naive UTC."""
    if not text:
        return None
    for pattern in TIME_FORMATS:
        try:
            local = datetime.strptime(text, pattern)
        except ValueError:
            continue
        if not FIRST_DAY <= local.date() <= LAST_DAY:
            raise ValueError(_l("Choose a time from 2000 to 2099."))
        return local.replace(tzinfo=HONG_KONG).astimezone(UTC).replace(tzinfo=None)
    raise ValueError(_l("Enter a date and time like 2026-12-01 09:00 (Hong Kong time)."))


def hk_text(value: datetime | None) -> str:
    """Naive UTC -> the Hong Kong local time as the forms take it."""
    if value is None:
        return ""
    return value.replace(tzinfo=UTC).astimezone(HONG_KONG).strftime("%Y-%m-%d %H:%M")


def cents_text(value: int | None) -> str:
    """1250 -> "12.50", as the forms take amounts."""
    return "" if value is None else f"{value // 100}.{value % 100:02d}"


# --- fields ----------------------------------------------------------------------------------------


class TextField(StringField):
    """Text with its spaces tidied, then `read` into a value (a ValueError is the field's mistake).

    A refused form shows each field again as it was typed; a form made from a plan shows its values.
    """

    def __init__(self, label=None, validators=None, change: Callable[[str], str] | None = None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.change = change

    def read(self, text: str) -> Any:
        return self.change(text) if self.change else text

    def show(self, value: Any) -> str:
        return "" if value is None else str(value)

    def process_formdata(self, valuelist):
        self.data = None
        self.data = self.read(tidy(valuelist[0] if valuelist else ""))

    def _value(self) -> str:
        if self.raw_data is None:  # not posted: the value, as the form takes it
            return self.show(self.data)
        return self.raw_data[0] if self.raw_data else ""


class RequiredTextField(TextField):
    def __init__(self, label=None, max_length: int = 80, **kwargs):
        super().__init__(label, **kwargs)
        self.max_length = max_length

    def read(self, text: str) -> str:
        if not text:
            raise ValueError(_l("This is required."))
        if len(text) > self.max_length:
            raise ValueError(_l("Keep this under %(count)s characters.", count=self.max_length))
        return text


class WholeNumberField(TextField):
    widget = NumberInput()

    def __init__(self, label=None, minimum: int = 0, maximum: int = 10**6, optional: bool = False, **kwargs):
        super().__init__(label, **kwargs)
        self.minimum, self.maximum, self.optional = minimum, maximum, optional

    def read(self, text: str) -> int | None:
        if not text and self.optional:
            return None
        if not text.isascii() or not text.isdigit() or len(text) > 9:
            raise ValueError(_l("Enter a whole number."))
        value = int(text)
        if not self.minimum <= value <= self.maximum:
            raise ValueError(_l("Enter a number from %(low)s to %(high)s.", low=self.minimum, high=self.maximum))
        return value


class AmountField(TextField):
    """An amount as staff type it ("12.5", "HK$1,234.50") -> cents, read by rules.text.money_text."""

    def __init__(self, label=None, positive: bool = True, optional: bool = False, **kwargs):
        super().__init__(label, **kwargs)
        self.positive, self.optional = positive, optional

    def read(self, text: str) -> int | None:
        if not text and self.optional:
            return None
        value = money_text.to_cents(text)  # AmountRefused is a ValueError with its message
        if self.positive and value <= 0:
            raise ValueError(_l("The amount must be more than zero."))
        return value

    def show(self, value: Any) -> str:
        return cents_text(value)


class HongKongTimeField(TextField):
    """Typed in Hong Kong time, held in naive UTC; empty is None. Its format is shown before any mistake."""

    def __init__(self, label=None, **kwargs):
        kwargs.setdefault("description", _l("Like 2026-12-01 09:00."))
        super().__init__(label, **kwargs)

    def read(self, text: str) -> datetime | None:
        return hk_time(text)

    def show(self, value: Any) -> str:
        return hk_text(value)


class ChosenField(TextField):
    """One of `choices` (code -> name for people), shown as a list to pick from, never typed."""

    def __init__(self, label=None, choices: Mapping[str, Any] | None = None, **kwargs):
        super().__init__(label, **kwargs)
        self.choices = dict(choices or {})


class TickField(BooleanField):
    """A checkbox: ticked when it sends 1, on, true, yes or y."""

    def process_formdata(self, valuelist):
        self.data = bool(valuelist) and tidy(valuelist[0]).lower() in TICKED


class SkippedWhen:
    """A field not asked for when `when(form)` holds: its value is None and whatever was typed is ignored."""

    def __init__(self, when: Callable[[Any], bool]):
        self.when = when

    def __call__(self, form, field):
        if self.when(form):
            field.errors[:] = []
            field.data = None
            raise StopValidation()


def _one_of(choices, message) -> Callable[[Any, Any], None]:
    def check(form, field) -> None:
        if field.data not in choices:
            raise ValidationError(message)

    return check


class CatalogueForm(FlaskForm):
    def value(self, name: str) -> Any:
        """The field's value, None when it could not be read (then mistakes() names it)."""
        field = self[name]
        return None if field.errors else field.data

    def mistakes(self) -> dict[str, str]:
        """Each field at fault -> its message for people."""
        return {name: str(errors[0]) for name, errors in self.errors.items() if errors}

    def refused(self, errors: Mapping[str, str]) -> None:
        """Show the refusals (the form's own and the rules') beside their fields, one each."""
        for name, message in errors.items():
            if name in self:
                self[name].errors = [message]

    def editable(self):
        """The fields the page shows, in order (not the CSRF token)."""
        return [field for field in self if field.name != "csrf_token"]


# --- plans -----------------------------------------------------------------------------------------


def _unlimited(form) -> bool:
    return bool(form.unlimited.data)


class PlanForm(CatalogueForm):
    code = TextField(_l("Code"), id="f-code", change=str.lower)
    name_en = RequiredTextField(_l("Name in English"), id="f-name_en")
    name_zh_hans = RequiredTextField(_l("Name in Simplified Chinese"), id="f-name_zh_hans")
    name_zh_hant = RequiredTextField(_l("Name in Traditional Chinese"), id="f-name_zh_hant")
    region = ChosenField(
        _l("Region"),
        id="f-region",
        choices=catalogue.REGIONS,
        validators=[_one_of(catalogue.REGIONS, _l("Choose a region."))],
    )
    days = WholeNumberField(_l("Days"), 1, 3650, id="f-days")
    data_mb = WholeNumberField(_l("Data (MB)"), 1, 10**7, id="f-data_mb", validators=[SkippedWhen(_unlimited)])
    unlimited = TickField(_l("Unlimited data (fair use)"), id="f-unlimited")
    fair_use_mb = WholeNumberField(
        _l("Fair use (MB)"), 1, 10**7, id="f-fair_use_mb", validators=[SkippedWhen(lambda form: not _unlimited(form))]
    )
    voice_minutes = WholeNumberField(_l("Voice minutes"), 0, 10**6, optional=True, id="f-voice_minutes")
    currency = ChosenField(
        _l("Currency"),
        id="f-currency",
        choices={code: code for code in CURRENCIES},
        default="HKD",
        change=lambda text: text.upper() or "HKD",
        validators=[_one_of(CURRENCIES, _l("Choose HKD or CNY."))],
    )
    price = AmountField(_l("Price"), id="f-price")
    sale_price = AmountField(_l("Sale price (optional)"), optional=True, id="f-sale_price")
    sale_starts_at = HongKongTimeField(_l("Sale starts (Hong Kong time)"), id="f-sale_starts_at")
    sale_ends_at = HongKongTimeField(_l("Sale ends (Hong Kong time)"), id="f-sale_ends_at")
    sort_order = WholeNumberField(_l("Order in the list"), 0, 10**6, optional=True, id="f-sort_order")

    def validate_code(self, field) -> None:
        if not PLAN_CODE.fullmatch(field.data or ""):
            raise ValidationError(_l("Use 2-40 lowercase letters, digits and dashes, e.g. gba-7d."))

    @classmethod
    def of(cls, plan: Plan) -> "PlanForm":
        """A plan as its edit form shows it (times in Hong Kong time, amounts as 12.50)."""
        return cls(
            formdata=None,
            data={
                **{name: getattr(plan, name) for name in ("code", "name_en", "name_zh_hans", "name_zh_hant")},
                **{name: getattr(plan, name) for name in ("region", "days", "data_mb", "fair_use_mb")},
                "voice_minutes": plan.voice_minutes or None,
                "unlimited": plan.data_mb is None,
                "currency": plan.currency,
                "price": plan.price_cents,
                "sale_price": plan.sale_price_cents,
                "sale_starts_at": plan.sale_starts_at,
                "sale_ends_at": plan.sale_ends_at,
                "sort_order": plan.sort_order,
            },
        )

    def values(self) -> PlanValues:
        value = self.value
        return PlanValues(
            code=value("code") or "",
            name_en=value("name_en") or "",
            name_zh_hans=value("name_zh_hans") or "",
            name_zh_hant=value("name_zh_hant") or "",
            region=value("region") or "",
            days=value("days") or 0,
            data_mb=value("data_mb"),
            fair_use_mb=value("fair_use_mb"),
            voice_minutes=value("voice_minutes") or 0,
            currency=value("currency") or "",
            price_cents=value("price") or 0,
            sale_price_cents=value("sale_price"),
            sale_starts_at=value("sale_starts_at"),
            sale_ends_at=value("sale_ends_at"),
            sort_order=value("sort_order") or 0,
        )


# --- promotions ------------------------------------------------------------------------------------


class PromotionForm(CatalogueForm):
    code = TextField(_l("Code"), id="f-code", change=promotions.normalise_code)
    percent_off = WholeNumberField(_l("Percent off"), 1, 100, optional=True, id="f-percent_off")
    amount_off = AmountField(_l("Amount off"), optional=True, id="f-amount_off")
    min_spend = AmountField(_l("Minimum spend"), positive=False, optional=True, id="f-min_spend")
    starts_at = HongKongTimeField(_l("Starts (Hong Kong time)"), id="f-starts_at")
    ends_at = HongKongTimeField(_l("Ends (Hong Kong time)"), id="f-ends_at")
    max_uses = WholeNumberField(_l("Uses at most"), 1, 10**9, optional=True, id="f-max_uses")
    max_uses_per_account = WholeNumberField(
        _l("Uses per account at most"), 1, 10**6, optional=True, id="f-max_uses_per_account"
    )

    def validate_code(self, field) -> None:
        if not PROMO_CODE.fullmatch(field.data or ""):
            raise ValidationError(_l("Use 3-32 capital letters and digits, e.g. WELCOME10."))

    @classmethod
    def of(cls, promotion: Promotion) -> "PromotionForm":
        return cls(
            formdata=None,
            data={
                **{name: getattr(promotion, name) for name in ("code", "percent_off", "starts_at", "ends_at")},
                "amount_off": promotion.amount_off_cents,
                "min_spend": promotion.min_spend_cents or None,
                "max_uses": promotion.max_uses,
                "max_uses_per_account": promotion.max_uses_per_account,
            },
        )

    def values(self) -> PromotionValues:
        value = self.value
        return PromotionValues(
            code=value("code") or "",
            percent_off=value("percent_off"),
            amount_off_cents=value("amount_off"),
            min_spend_cents=value("min_spend") or 0,
            starts_at=value("starts_at"),
            ends_at=value("ends_at"),
            max_uses=value("max_uses"),
            max_uses_per_account=value("max_uses_per_account"),
        )
