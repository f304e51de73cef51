"""The export definitions of customers, addresses, employees: one per export, used by the views
(their endpoints) and ``manage.py export``."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from admin_app.accounts.models import Address, Customer, Employee
from admin_app.core.export import ExportSpec
from admin_app.core.export_specs import CREATED, NEWEST_FIRST, col, register_exports

EXPORTS = register_exports({
    "customer": ExportSpec(
        model=Customer, title="customers",
        columns=(
            col(_l("ID"), "id", "int"), col(_l("Username"), "username"), col(_l("Email"), "email"),
            col(_l("First name"), "first_name"), col(_l("Last name"), "last_name"),
            col(_l("Loyalty points"), "loyalty_points", "int"), CREATED,
        ),
        search_columns=("search_key",),  # names, username and email, normalised
        filters=("full_name", "loyalty_points", "created_at"),
        default_sort=NEWEST_FIRST,
    ),
    "address": ExportSpec(
        model=Address, title="addresses",
        columns=(
            col(_l("ID"), "id", "int"), col(_l("Customer"), "user.username"), col(_l("Street"), "street"),
            col(_l("ZIP code"), "zip_code"), col(_l("City"), "city"), col(_l("State"), "state"),
            col(_l("Country"), "country"),
            col(_l("Default"), "is_default", "bool"), CREATED,
        ),
        search_columns=("street", "city", "zip_code", "country", "user.search_key"),
        filters=("city", "country", "is_default"),
        default_sort=NEWEST_FIRST,
    ),
    # Back-office accounts: never the password hash or session data.
    "employee": ExportSpec(
        model=Employee, title="employees",
        columns=(
            col(_l("ID"), "id", "int"), col(_l("Username"), "username"), col(_l("Name"), "full_name"),
            col(_l("Email"), "email"), col(_l("Role"), "role"), col(_l("Active"), "is_active", "bool"),
            col(_l("Department"), "department"), CREATED,
        ),
        search_columns=("search_key",),  # names, username and email, normalised
        filters=("role", "is_active", "department", "created_at"),
        default_sort=(("created_at", True),),
    ),
})
