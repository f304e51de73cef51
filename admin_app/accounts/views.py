"""Views for people: back-office employees (admins only), customers and their addresses."""

from __future__ import annotations

from typing import Any

from flask import flash, request
from flask_admin.actions import action
from flask_admin.model.template import EndpointLinkRowAction
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import func, select
from wtforms import PasswordField, ValidationError
from wtforms.validators import InputRequired, Length

from admin_app.accounts.erasure import anonymise_customer, is_erased
from admin_app.accounts.exports import EXPORTS
from admin_app.accounts.models import ROLES, Address, Customer, Employee, User
from admin_app.accounts.services import password_problem
from admin_app.core.formatters import choices, date_column, related, yes_no_column
from admin_app.core.validators import (
    UniqueIgnoringCase,
    count,
    drop_unsaved_rows_marked_deleted,
    email_address,
    lookup,
    parse_id,
    parse_ids,
)
from admin_app.core.views import ADMIN_ONLY, ShopModelView
from admin_app.extensions import db
from admin_app.sales.models import Order

CUSTOMER_LOOKUP = {
    "fields": (Customer.username, Customer.email, Customer.first_name, Customer.last_name),
    "placeholder": _l("Type a customer's name, username or email"),
    "minimum_input_length": 1,
    "page_size": 10,
}


ADDRESS_LABELS = {"street": _l("Street"), "city": _l("City"), "state": _l("State or region"), "zip_code": _l("ZIP"),
                  "country": _l("Country"), "is_default": _l("Default")}


def _editing_id() -> int | None:
    return parse_id(request.args.get("id"))


def _password_rules(form: Any, field: Any) -> None:
    """Required when creating an employee; optional (keep the old one) when editing."""
    if not field.data:
        if _editing_id() is None:
            raise ValidationError(_("Set an initial password."))
        return
    editing = _editing_id()
    employee = db.session.get(Employee, editing) if editing is not None else None
    if problem := password_problem(field.data, username=form.username.data, email=form.email.data,
                                   names=(form.first_name.data, form.last_name.data),
                                   current_hash=employee.password_hash if employee is not None else None):
        raise ValidationError(problem)


def orders_shipped_to(address_id: int) -> int:
    """How many orders name this address (an address on an order cannot be removed)."""
    query = select(func.count()).select_from(Order).where(Order.address_id == address_id)
    return db.session.scalar(query) or 0


def address_in_use_message(address: Any, orders: int) -> str:
    return ngettext("The address %(address)s is used by %(num)d order and cannot be removed.",
                    "The address %(address)s is used by %(num)d orders and cannot be removed.", orders,
                    address=address)


def other_active_admins(employee_id: int | None) -> int:
    query = select(func.count()).select_from(Employee).where(Employee.role == "admin", Employee.is_active.is_(True))
    if employee_id is not None:
        query = query.where(Employee.id != employee_id)
    return db.session.scalar(query) or 0


def _keeps_an_active_admin(form: Any, field: Any) -> None:
    """Nobody may demote or deactivate the last active admin (so the shop keeps one)."""
    editing = _editing_id()
    employee = db.session.get(Employee, editing) if editing else None
    if employee is None or employee.role != "admin" or not employee.is_active:
        return
    stays_admin = (form.role.data == "admin") and bool(form.is_active.data)
    if not stays_admin and other_active_admins(employee.id) == 0:
        raise ValidationError(_("This is the last active admin: make someone else an admin first."))


class UserFieldsMixin:
    """What customers and employees share: identity fields and their validation."""

    column_labels = {"username": _l("Username"), "full_name": _l("Name"), "first_name": _l("First name"),
                     "last_name": _l("Last name"), "email": _l("Email"), "role": _l("Role"), "is_active": _l("Active"),
                     "department": _l("Department"), "loyalty_points": _l("Loyalty points"),
                     "addresses": _l("Addresses"), "new_password": _l("New password"),
                     "created_at": _l("Created"), "updated_at": _l("Updated")}
    column_formatters = {"created_at": date_column, "updated_at": date_column, "is_active": yes_no_column}
    column_sortable_list = ("username", "full_name", "email", "created_at")
    column_default_sort = ("created_at", True)
    form_args = {
        "username": {"validators": [InputRequired(), Length(max=50), UniqueIgnoringCase(User.username)]},
        "email": {"validators": [InputRequired(), Length(max=120), email_address,
                                 UniqueIgnoringCase(User.email)]},
        "first_name": {"validators": [Length(max=50)]},
        "last_name": {"validators": [Length(max=50)]},
    }


class EmployeeView(UserFieldsMixin, ShopModelView):
    """Back-office accounts; admins only. Passwords are write-only and never shown."""

    read_roles = ADMIN_ONLY
    write_roles = ADMIN_ONLY

    column_list = ("username", "full_name", "email", "role", "is_active", "department", "created_at")
    column_searchable_list = EXPORTS["employee"].search_columns
    column_choices = {"role": choices(ROLES)}  # the role filter is a select of labels
    quick_filters = ("role", "is_active")
    search_hint = _l("Name, username or email")
    column_filters = EXPORTS["employee"].filters
    # Their second factor and sessions (admin_app.accounts.auth.two_factor_views).
    column_extra_row_actions = [EndpointLinkRowAction("fa fa-shield", "employee_security.employee",
                                                      title=_l("Sign-in security"), id_arg="employee_id")]
    column_details_list = ("username", "first_name", "last_name", "email", "role", "is_active", "department",
                           "created_at", "updated_at")
    form_columns = ("username", "email", "first_name", "last_name", "role", "is_active", "department",
                    "new_password")
    form_choices = {"role": choices(ROLES)}
    form_extra_fields = {
        "new_password": PasswordField(_l("New password"), description=_l("Leave empty to keep the current password."),
                                      validators=[_password_rules]),
    }
    form_args = {
        **UserFieldsMixin.form_args,
        "role": {"validators": [InputRequired(), _keeps_an_active_admin]},
        "is_active": {"validators": [_keeps_an_active_admin]},
    }
    def on_model_change(self, form: Any, model: Employee, is_created: bool) -> None:
        if form.new_password.data:
            model.set_password(form.new_password.data)

    @property
    def can_delete(self) -> bool:  # type: ignore[override]
        """Accounts are deactivated, never deleted: their history stays attributed."""
        return False

    @action("deactivate", _l("Deactivate"), _l("Deactivate the selected accounts? They are signed out at once."))
    def action_deactivate(self, ids: list[str]) -> None:
        self._set_active(ids, False)

    @action("reactivate", _l("Reactivate"), _l("Reactivate the selected accounts?"))
    def action_reactivate(self, ids: list[str]) -> None:
        self._set_active(ids, True)

    def _set_active(self, ids: list[str], active: bool) -> None:
        employees = db.session.scalars(select(Employee).where(Employee.id.in_(parse_ids(ids)))).all()
        changed = 0
        # Counted once, then kept as the loop deactivates admins (not one count per employee).
        active_admins = other_active_admins(None) if not active else 0
        for employee in employees:
            if not active and employee.role == "admin" and employee.is_active:
                if active_admins <= 1:
                    flash(_("%(username)s is the last active admin and stays active.", username=employee.username),
                          "error")
                    continue
                active_admins -= 1
            if employee.is_active != active:
                employee.is_active = active
                changed += 1
        db.session.commit()
        if active:
            flash(ngettext("%(num)d account reactivated.", "%(num)d accounts reactivated.", changed), "success")
        elif changed:  # nothing changed: the refusal above says why, no green "0 accounts" beside it
            flash(ngettext("%(num)d account deactivated.", "%(num)d accounts deactivated.", changed), "success")


class CustomerView(UserFieldsMixin, ShopModelView):
    """Shop customers with their addresses inline. Staff cannot set customer passwords."""

    column_list = ("username", "full_name", "email", "loyalty_points", "created_at")
    column_searchable_list = EXPORTS["customer"].search_columns
    date_presets = ("created_at",)
    quick_filters = ("created_at",)
    search_hint = _l("Name, username or email")
    column_filters = EXPORTS["customer"].filters
    column_details_list = ("username", "first_name", "last_name", "email", "loyalty_points", "addresses",
                           "created_at", "updated_at")
    column_sortable_list = (*UserFieldsMixin.column_sortable_list, "loyalty_points")
    form_columns = ("username", "email", "first_name", "last_name", "loyalty_points", "addresses")
    form_args = {**UserFieldsMixin.form_args, "loyalty_points": count(0, 10_000_000, required=False)}
    inline_models = [
        (Address, {
            "form_columns": ("id", "street", "city", "state", "zip_code", "country", "is_default"),
            "column_labels": ADDRESS_LABELS,
            "form_args": {
                "street": {"validators": [InputRequired(), Length(max=100)]},
                "city": {"validators": [InputRequired(), Length(max=50)]},
                "state": {"validators": [Length(max=50)]},
                "zip_code": {"validators": [InputRequired(), Length(max=10)]},
                "country": {"validators": [InputRequired(), Length(max=50)]},
            },
        })
    ]

    def validate_form(self, form: Any) -> bool:
        valid = super().validate_form(form)
        addresses = getattr(form, "addresses", None)
        if addresses is None or not valid:
            return valid
        # Removing an address that orders were shipped to would fail in the database. Only
        # this customer's own addresses can be removed here (any other id is a new row).
        customer_id = _editing_id()
        for entry in addresses.entries:
            address = db.session.get(Address, parse_id(entry.get_pk()) or 0)
            if addresses.should_delete(entry) and address is not None and address.user_id == customer_id:
                if used := orders_shipped_to(address.id):
                    message = address_in_use_message(address, used)
                    entry.form.street.errors = [*entry.form.street.errors, message]
                    flash(message, "error")
                    valid = False
        return valid

    def create_model(self, form: Any) -> Any:
        drop_unsaved_rows_marked_deleted(getattr(form, "addresses", None), ())
        return super().create_model(form)

    def update_model(self, form: Any, model: Customer) -> Any:
        drop_unsaved_rows_marked_deleted(getattr(form, "addresses", None), model.addresses)
        return super().update_model(form, model)

    def on_model_change(self, form: Any, model: Customer, is_created: bool) -> None:
        for address in model.addresses:
            address.state = address.state or ""

    action_roles = {"anonymise": ADMIN_ONLY}

    @action("anonymise", _l("Anonymise customer"),
            _l("Erase the selected customers' names, email, username and addresses for good, in the history too? "
               "Their orders stay. This cannot be undone."))
    def action_anonymise(self, ids: list[str]) -> None:
        """A GDPR erasure request, for customers who cannot be purged (see accounts.erasure)."""

        def erase(customer: Customer) -> str | None:
            if is_erased(customer):
                return _("already anonymised")
            anonymise_customer(customer)
            return None

        report = self.bulk_apply(ids, erase)
        self.flash_report(report, lambda num, records: ngettext("%(num)d customer anonymised: %(records)s.",
                                                                "%(num)d customers anonymised: %(records)s.", num,
                                                                records=records))


class AddressView(ShopModelView):
    column_list = ("user", "street", "zip_code", "city", "country", "is_default")
    column_searchable_list = EXPORTS["address"].search_columns
    search_hint = _l("Street, city, ZIP code, country or customer name")
    column_filters = EXPORTS["address"].filters
    column_labels = {"user": _l("Customer"), **ADDRESS_LABELS}
    column_formatters = {"user": related("customer"), "is_default": yes_no_column}
    column_sortable_list = ("street", "city", "zip_code", "country", ("user", "user.username"))
    column_default_sort = ("id", True)
    column_select_related_list = (Address.user,)
    form_columns = ("user", "street", "city", "state", "zip_code", "country", "is_default")
    form_ajax_refs = {"user": lookup(Customer, "user", **CUSTOMER_LOOKUP)}
    form_args = {
        "user": {"validators": [InputRequired()]},
        "street": {"validators": [InputRequired(), Length(max=100)]},
        "city": {"validators": [InputRequired(), Length(max=50)]},
        "zip_code": {"validators": [InputRequired(), Length(max=10)]},
        "country": {"validators": [InputRequired(), Length(max=50)]},
        "state": {"validators": [Length(max=50)]},
    }

    def on_model_change(self, form: Any, model: Address, is_created: bool) -> None:
        model.state = model.state or ""

    def on_model_delete(self, model: Address) -> None:
        if used := orders_shipped_to(model.id):
            raise ValidationError(address_in_use_message(model, used))
