"""The Flask-Admin back office: one ``Admin`` per app, every view registered in one place."""

from __future__ import annotations

from flask import Flask
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_babel import lazy_gettext as _l

from admin_app.accounts.account_view import AccountView
from admin_app.accounts.auth.two_factor_views import register_two_factor_views
from admin_app.accounts.models import Address, Customer, Employee
from admin_app.accounts.views import AddressView, CustomerView, EmployeeView
from admin_app.audit.models import AuditLog
from admin_app.audit.views import AuditLogView
from admin_app.catalog.models import Category, Product
from admin_app.catalog.views import CategoryView, ProductView
from admin_app.content.models import Comment, Post, Tag
from admin_app.content.views import CommentView, PostView, TagView
from admin_app.core import adapter
from admin_app.core.frame import register_frame_helpers
from admin_app.core.i18n import TRANSLATIONS
from admin_app.core.security import allow_inline_handler, csp_nonce
from admin_app.dashboard.views import DashboardView
from admin_app.exports.views import ExportsView
from admin_app.extensions import db
from admin_app.sales.models import CartItem, Order, OrderItem
from admin_app.sales.views import CartItemView, OrderItemView, OrderView


def init_admin(app: Flask) -> Admin:
    admin = Admin(
        app,
        name=_l("Shop back office"),
        # shop_base.html links the employee's own theme (admin_app.core.themes), not a swatch.
        theme=Bootstrap4Theme(base_template="admin/shop_base.html", swatch="default", fluid=True),
        index_view=DashboardView(name=_l("Dashboard"), url="/admin"),
        # Where Flask-Admin looks for its own strings (domain "admin") before its catalogue.
        translations_path=app.config.get("ADMIN_TRANSLATIONS_PATH", str(TRANSLATIONS)),
        csp_nonce_generator=csp_nonce,
    )
    register_views(admin)
    register_frame_helpers(app)
    allow_flask_admin_handlers(admin)
    return admin


def allow_flask_admin_handlers(admin: Admin) -> None:
    """Flask-Admin's bulk action menu (``modelActions.execute('<action>')``) and "Add
    <rows>" buttons (``faForm.addInlineField(this, '<field>')``) use inline handlers that
    name the action or field: allow exactly those in the CSP, nothing more."""
    for view in adapter.registered_views(admin):
        for name, _label in adapter.actions(view):
            allow_inline_handler(f"return modelActions.execute('{name}');")
        for entry in getattr(view, "inline_models", None) or ():
            inline_model = entry[0] if isinstance(entry, tuple) else entry
            for relationship in view.model.__mapper__.relationships:
                if relationship.mapper.class_ is inline_model:
                    allow_inline_handler(f"faForm.addInlineField(this, '{relationship.key}');")


def register_views(admin: Admin) -> None:
    """Every view of the back office, grouped by menu category (like Django's admin.site)."""

    admin.add_views(
        OrderView(Order, db, category=_l("Sales"), name=_l("Orders")),
        OrderItemView(OrderItem, db, category=_l("Sales"), name=_l("Order items")),
        CartItemView(CartItem, db, category=_l("Sales"), name=_l("Cart items")),
        ProductView(Product, db, category=_l("Catalogue"), name=_l("Products")),
        CategoryView(Category, db, category=_l("Catalogue"), name=_l("Categories")),
        CustomerView(Customer, db, category=_l("Customers"), name=_l("Customers")),
        AddressView(Address, db, category=_l("Customers"), name=_l("Addresses")),
        PostView(Post, db, category=_l("Content"), name=_l("Posts")),
        CommentView(Comment, db, category=_l("Content"), name=_l("Comments")),
        TagView(Tag, db, category=_l("Content"), name=_l("Tags")),
        EmployeeView(Employee, db, category=_l("Administration"), name=_l("Employees")),
        AuditLogView(AuditLog, db, category=_l("Administration"), name=_l("History")),
    )
    admin.add_view(ExportsView(name=_l("Exports"), endpoint="exports", url="/admin/exports"))
    admin.add_view(AccountView(name=_l("My account"), endpoint="account", url="/admin/account"))
    register_two_factor_views(admin)
