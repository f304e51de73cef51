"""The export definitions of customers, addresses, employees: one per export, used by the views
(their endpoints) and ``manage.py export``."""

from __future__ import annotations

from admin_app.accounts.models import Address, Customer, Employee
from admin_app.core.export import ExportSpec
from admin_app.core.export_specs import CREATED, NEWEST_FIRST, col, register_exports

EXPORTS = register_exports({
    "customer": ExportSpec(
        model=Customer, title="customers",
        columns=(
            col("ID", "id", "int"), col("Username", "username"), col("Email", "email"),
            col("First name", "first_name"), col("Last name", "last_name"),
            col("Loyalty points", "loyalty_points", "int"), CREATED,
        ),
        search_columns=("username", "email", "first_name", "last_name"),
        filters=("full_name", "loyalty_points", "created_at"),
        default_sort=NEWEST_FIRST,
    ),
    "address": ExportSpec(
        model=Address, title="addresses",
        columns=(
            col("ID", "id", "int"), col("Customer", "user.username"), col("Street", "street"),
            col("ZIP code", "zip_code"), col("City", "city"), col("State", "state"), col("Country", "country"),
            col("Default", "is_default", "bool"), CREATED,
        ),
        search_columns=("street", "city", "zip_code", "country"),
        filters=("city", "country", "is_default"),
        default_sort=NEWEST_FIRST,
    ),
    # Back-office accounts: never the password hash or session data.
    "employee": ExportSpec(
        model=Employee, title="employees",
        columns=(
            col("ID", "id", "int"), col("Username", "username"), col("Name", "full_name"),
            col("Email", "email"), col("Role", "role"), col("Active", "is_active", "bool"),
            col("Department", "department"), CREATED,
        ),
        search_columns=("username", "email", "first_name", "last_name"),
        filters=("role", "is_active", "department", "created_at"),
        default_sort=(("created_at", True),),
    ),
})
