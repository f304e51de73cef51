"""Views for sales: orders with their items inline, order items and cart items."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import flash, request, url_for
from flask_admin.actions import action
from flask_admin.model.ajax import DEFAULT_PAGE_SIZE
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload
from wtforms import ValidationError
from wtforms.validators import InputRequired, Length

from admin_app.accounts.models import Address, Customer
from admin_app.accounts.views import CUSTOMER_LOOKUP
from admin_app.catalog.models import Product
from admin_app.catalog.views import PRODUCT_LOOKUP
from admin_app.core.fields import TabularInlineWidget
from admin_app.core.formatters import (
    choice_label,
    choices,
    date_column,
    link_to,
    money_column,
    related,
    status_column,
)
from admin_app.core.i18n import format_money, format_number
from admin_app.core.validators import (
    LookupLoader,
    count,
    drop_unsaved_rows_marked_deleted,
    lookup,
    money,
    parse_id,
    parse_ids,
)
from admin_app.core.views import ShopModelView
from admin_app.extensions import db
from admin_app.sales.exports import EXPORTS
from admin_app.sales.models import ORDER_STATUSES, CartItem, Order, OrderItem, editable_fields, status_word
from admin_app.sales.services import allowed_statuses, move_order_ids

# No typing needed: once a customer is chosen, their few addresses are offered at once.
ADDRESS_LOOKUP = {"fields": (Address.street, Address.city, Address.zip_code),
                  "placeholder": _l("Type a street, city or ZIP"), "minimum_input_length": 0, "page_size": 10}
ORDER_LOOKUP = {"fields": (Order.id,), "placeholder": _l("Type an order number"), "page_size": 10}
# An item's price may be left empty (it then takes the product's price): no HTML ``required``
# (the model converter adds InputRequired for the NOT NULL column; Optional runs first).
ITEM_PRICE = {**money(required=False, minimum=Decimal("0.00")), "render_kw": {"required": False},
              "description": _l("Leave empty for the product's current price.")}


ITEM_LABELS = {"product": _l("Product"), "quantity": _l("Quantity"), "price": _l("Price")}


class CustomerAddressLoader(LookupLoader):
    """The order form's "Ship to" lookup: with ``user_id`` in the query string (sent by
    ``static/js/order_form.js`` once a customer is chosen) only that customer's addresses,
    all of them even before anything is typed."""

    def get_query(self) -> Any:
        query = super().get_query()
        user_id = parse_id(request.args.get("user_id"))
        if user_id is not None:
            query = query.filter(Address.user_id == user_id)
        return query.order_by(Address.id)

    def get_list(self, term: str, offset: int = 0, limit: int = DEFAULT_PAGE_SIZE) -> Any:
        return super().get_list(term or "", offset, limit)  # no term: every address of the customer


# The order form's fields the life cycle may freeze (``EDITABLE``); the status follows
# ``TRANSITIONS`` instead.
ORDER_FORM_FIELDS = ("user", "address", "shipping_fee", "items", "notes")


def offer_statuses(field: Any, current: str | None) -> None:
    """The status field offers what the life cycle allows from ``current`` (a new order:
    pending only); anything else posted gets :func:`_one_of_the_offered_statuses`'s message
    rather than a bare "Not a valid choice"."""
    field.choices = choices(allowed_statuses(current))
    field.validate_choice = False


def _one_of_the_offered_statuses(form: Any, field: Any) -> None:
    offered = [value for value, _label in field.choices]
    if field.data not in offered:
        raise ValidationError(_("This order can only be set to: %(statuses)s.",
                                statuses=", ".join(status_word(status) for status in offered)))


def freeze(form: Any, status: str) -> None:
    """Show what an order's status freezes read-only (the browser still posts it, unchanged;
    a forged change is refused by the life cycle when the order is saved)."""
    frozen = [name for name in ORDER_FORM_FIELDS if name not in editable_fields(status)]
    for name in frozen:
        field = getattr(form, name, None)
        if field is not None:
            # New dicts: the field's own may be shared with the form class.
            field.render_kw = {**(field.render_kw or {}), "readonly": True}
            field.description = _("The order is %(status)s: this can no longer change.", status=status_word(status))


def _address_of_customer(form: Any, field: Any) -> None:
    address, customer = field.data, form.user.data
    if address is not None and customer is not None and address.user_id != customer.id:
        raise ValidationError(_("Choose one of this customer's addresses."))


def items_table(items: list[OrderItem]) -> Markup:
    """An order's items on its details page: one line each, with quantity, price and subtotal
    (on a phone each line stacks its cells, labelled: ``static/css/admin_app.css``)."""
    labels = [escape(label) for label in (_("Product"), _("Quantity"), _("Unit price"), _("Subtotal"))]
    head = "".join(f'<th scope="col">{label}</th>' for label in labels)
    rows = "".join(
        "<tr>" + "".join(f'<td data-label="{label}">{value}</td>' for label, value in zip(labels, (
            link_to("product", item.product), escape(format_number(item.quantity)),
            escape(format_money(item.price)), escape(format_money(item.subtotal))), strict=True)) + "</tr>"
        for item in items)
    return Markup(f'<table class="table table-sm mb-0 order-items"><thead><tr>{head}</tr></thead>'
                  f"<tbody>{rows}</tbody></table>")


class OrderView(ShopModelView):
    column_list = ("id", "order_date", "user", "status", "subtotal", "shipping_fee", "total")
    column_phone_list = ("id", "total")  # on a phone; "All columns" shows the rest
    column_searchable_list = EXPORTS["order"].search_columns
    column_choices = {"status": choices(ORDER_STATUSES)}  # the status filter is a select of labels
    date_presets = ("order_date",)
    quick_filters = ("status", "order_date")
    quick_filter_counts = ("status",)  # one statement, a capped count per status on ix_orders_status
    search_hint = _l("Order number, customer name or email")
    column_filters = EXPORTS["order"].filters
    column_details_list = ("id", "order_date", "user", "address", "status", "items", "subtotal", "shipping_fee",
                           "total", "notes", "created_at", "updated_at")
    column_labels = {"id": _l("Order"), "order_date": _l("Date"), "user": _l("Customer"), "address": _l("Ship to"),
                     "status": _l("Status"), "items": _l("Items"), "subtotal": _l("Subtotal"),
                     "shipping_fee": _l("Shipping"), "total": _l("Total"), "notes": _l("Notes"),
                     "created_at": _l("Created"), "updated_at": _l("Updated"), "user.username": _l("Customer")}
    column_formatters = {
        "order_date": date_column, "created_at": date_column, "updated_at": date_column,
        "user": related("customer"), "address": related("address"), "status": status_column,
        "subtotal": money_column, "shipping_fee": money_column, "total": money_column,
        "items": lambda v, c, m, n: items_table(m.items),
    }
    column_sortable_list = ("id", "order_date", "status", "total", "subtotal", "shipping_fee",
                           ("user", "user.username"))
    column_default_sort = [("order_date", True), ("id", True)]
    column_select_related_list = (Order.user,)
    form_columns = ("user", "address", "status", "shipping_fee", "notes", "items")
    form_choices = {"status": choices(ORDER_STATUSES)}
    form_ajax_refs = {"user": lookup(Customer, "user", **CUSTOMER_LOOKUP),
                      "address": CustomerAddressLoader("address", db, Address, **ADDRESS_LOOKUP)}
    form_args = {
        "user": {"validators": [InputRequired()]},
        "address": {"validators": [InputRequired(), _address_of_customer]},
        "status": {"validators": [InputRequired(), _one_of_the_offered_statuses]},
        "shipping_fee": money(minimum=Decimal("0.00")),
        "notes": {"validators": [Length(max=5000)]},
        # An order may have dozens of items: one line each.
        "items": {"widget": TabularInlineWidget(wide=("product",))},
    }
    inline_models = [
        (OrderItem, {
            "form_columns": ("id", "product", "quantity", "price"),
            "column_labels": ITEM_LABELS,
            "form_ajax_refs": {"product": lookup(Product, "product", **PRODUCT_LOOKUP)},
            "form_args": {
                "product": {"validators": [InputRequired()]},
                "quantity": {**count(1, 10_000), "default": 1},  # a new line is one of the product
                "price": ITEM_PRICE,
            },
        })
    ]
    # The running totals beside the items (static/js/order_form.js).
    create_template = "admin/order_create.html"
    edit_template = "admin/order_edit.html"

    @property
    def extra_js(self) -> list[str]:  # type: ignore[override]
        """Passes the chosen customer to the address lookup (an external script: the CSP
        allows no inline ones)."""
        return [url_for("static", filename="js/order_form.js")]

    record_load_options = (
        joinedload(Order.user), joinedload(Order.address),
        selectinload(Order.items).joinedload(OrderItem.product),
    )

    def record_heading(self, record: Order | None) -> str | None:
        if record is None:
            return None
        return _("Order #%(number)s · %(customer)s · %(status)s", number=record.id,
                 customer=record.user or "—", status=choice_label(record.status))

    def create_form(self, obj: Any = None) -> Any:
        form = super().create_form(obj)
        offer_statuses(form.status, None)
        return form

    def edit_form(self, obj: Any = None) -> Any:
        form = super().edit_form(obj)
        if obj is not None:
            offer_statuses(form.status, obj.status)
            freeze(form, obj.status)
        return form

    def create_model(self, form: Any) -> Any:
        drop_unsaved_rows_marked_deleted(getattr(form, "items", None), ())
        return super().create_model(form)

    def update_model(self, form: Any, model: Order) -> Any:
        drop_unsaved_rows_marked_deleted(getattr(form, "items", None), model.items)
        return super().update_model(form, model)

    def on_model_change(self, form: Any, model: Order, is_created: bool) -> None:
        for item in model.items:
            if item.price is None and item.product is not None:
                item.price = item.product.price

    def _move(self, ids: list[str], target: str) -> None:
        report = move_order_ids(parse_ids(ids), target)
        db.session.commit()
        if report.moved:
            flash(ngettext("%(num)d order marked %(status)s: %(orders)s.",
                           "%(num)d orders marked %(status)s: %(orders)s.", len(report.moved),
                           status=status_word(target), orders=", ".join(f"#{o.id}" for o in report.moved)),
                  "success")
        if report.refused:
            flash(ngettext("%(num)d order left unchanged: %(orders)s.", "%(num)d orders left unchanged: %(orders)s.",
                           len(report.refused), orders="; ".join(f"#{o.id} ({why})" for o, why in report.refused)),
                  "warning")

    @action("mark_paid", _l("Mark as paid"), _l("Mark the selected orders as paid?"))
    def action_mark_paid(self, ids: list[str]) -> None:
        self._move(ids, "paid")

    @action("mark_shipped", _l("Mark as shipped"), _l("Mark the selected orders as shipped?"))
    def action_mark_shipped(self, ids: list[str]) -> None:
        self._move(ids, "shipped")

    @action("mark_delivered", _l("Mark as delivered"), _l("Mark the selected orders as delivered?"))
    def action_mark_delivered(self, ids: list[str]) -> None:
        self._move(ids, "delivered")

    @action("cancel", _l("Cancel orders"), _l("Cancel the selected orders?"))
    def action_cancel(self, ids: list[str]) -> None:
        self._move(ids, "cancelled")


class OrderItemView(ShopModelView):
    column_list = ("order", "product", "quantity", "price", "subtotal")
    column_searchable_list = EXPORTS["orderitem"].search_columns
    column_filters = EXPORTS["orderitem"].filters
    column_labels = {"order": _l("Order"), "product": _l("Product"), "quantity": _l("Quantity"),
                     "price": _l("Unit price"), "subtotal": _l("Subtotal"), "order.id": _l("Order number")}
    column_formatters = {"order": related("order"), "product": related("product"), "price": money_column,
                         "subtotal": money_column}
    column_sortable_list = ("quantity", "price", "subtotal", ("order", "order.id"), ("product", "product.name"))
    column_default_sort = ("id", True)
    column_select_related_list = (OrderItem.order, OrderItem.product)
    form_columns = ("order", "product", "quantity", "price")
    form_ajax_refs = {"order": lookup(Order, "order", **ORDER_LOOKUP),
                      "product": lookup(Product, "product", **PRODUCT_LOOKUP)}
    form_args = {
        "order": {"validators": [InputRequired()]},
        "product": {"validators": [InputRequired()]},
        "quantity": count(1, 10_000),
        "price": ITEM_PRICE,
    }

    def on_model_change(self, form: Any, model: OrderItem, is_created: bool) -> None:
        if model.price is None and model.product is not None:
            model.price = model.product.price


def _not_already_in_cart(form: Any, field: Any) -> None:
    """One line per product in a cart (the table's unique constraint), checked first."""
    customer, product = form.user.data, field.data
    if customer is None or product is None:
        return
    query = select(CartItem.id).where(CartItem.user_id == customer.id, CartItem.product_id == product.id)
    editing = parse_id(request.args.get("id"))
    if editing is not None:
        query = query.where(CartItem.id != editing)
    if db.session.scalar(query.limit(1)) is not None:
        raise ValidationError(_("This product is already in the customer's cart."))


class CartItemView(ShopModelView):
    column_list = ("user", "product", "quantity", "subtotal", "added_at")
    column_searchable_list = EXPORTS["cartitem"].search_columns
    search_hint = _l("Customer name or email, or product")
    column_filters = EXPORTS["cartitem"].filters
    column_labels = {"user": _l("Customer"), "product": _l("Product"), "quantity": _l("Quantity"),
                     "subtotal": _l("Subtotal"), "added_at": _l("Added")}
    column_formatters = {"user": related("customer"), "product": related("product"), "subtotal": money_column,
                         "added_at": date_column}
    column_sortable_list = ("quantity", "added_at", "subtotal", ("user", "user.username"))
    column_default_sort = [("added_at", True), ("id", True)]
    column_select_related_list = (CartItem.user, CartItem.product)
    form_columns = ("user", "product", "quantity")
    form_ajax_refs = {"user": lookup(Customer, "user", **CUSTOMER_LOOKUP),
                      "product": lookup(Product, "product", **PRODUCT_LOOKUP)}
    form_args = {
        "user": {"validators": [InputRequired()]},
        "product": {"validators": [InputRequired(), _not_already_in_cart]},
        "quantity": count(1, 10_000),
    }
