"""The catalogue's own forms: adjusting stock by hand."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from admin_app.catalog.models import MANUAL_REASONS, REASON_LABELS
from admin_app.core.validators import count

MOST_UNITS = 1_000_000  # per adjustment, either way: more is a typing mistake


def _not_zero(form: FlaskForm, field: IntegerField) -> None:
    if field.data == 0:
        raise ValidationError(_l("Enter how many units come in (e.g. 12) or go out (e.g. -3); 0 changes nothing."))


class AdjustStockForm(FlaskForm):
    quantity = IntegerField(
        _l("Units in (+) or out (−)"),
        validators=[InputRequired(_l("Enter how many units come in (e.g. 12) or go out (e.g. -3).")),
                    *count(-MOST_UNITS, MOST_UNITS)["validators"][1:], _not_zero],
        description=_l("A positive number adds units to the stock, a negative one takes them out."))
    reason = SelectField(_l("Reason"), choices=[(code, REASON_LABELS[code]) for code in MANUAL_REASONS],
                         validators=[InputRequired()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=500)],
                         description=_l("For example the delivery note's number, or why the count was wrong."))
