"""Views for sales: orders with their items inline, order items and cart items."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import flash
from flask_admin.actions import action
from sqlalchemy import select
from wtforms import ValidationError
from wtforms.validators import InputRequired, Length

from admin_app.admin.accounts import CUSTOMER_LOOKUP
from admin_app.admin.base import ShopModelView
from admin_app.admin.catalog import PRODUCT_LOOKUP
from admin_app.admin.formatters import date_column, money_column, related, status_column
from admin_app.admin.validators import count, money
from admin_app.extensions import db
from admin_app.models import ORDER_STATUSES, Address, CartItem, Order, OrderItem
from admin_app.services.orders import allowed_statuses, move_orders

ADDRESS_LOOKUP = {"fields": (Address.street, Address.city, Address.zip_code),
                  "placeholder": "Type a street, city or ZIP", "page_size": 10}
ORDER_LOOKUP = {"fields": (Order.id,), "placeholder": "Type an order number", "page_size": 10}


def _valid_status_change(form: Any, field: Any) -> None:
    from flask import request

    editing = request.args.get("id", "")
    current = db.session.get(Order, int(editing)).status if editing.isdigit() and db.session.get(
        Order, int(editing)) else None
    if field.data not in allowed_statuses(current):
        options = ", ".join(allowed_statuses(current))
        raise ValidationError(f"This order can only be set to: {options}.")


def _address_of_customer(form: Any, field: Any) -> None:
    address, customer = field.data, form.user.data
    if address is not None and customer is not None and address.user_id != customer.id:
        raise ValidationError("Choose one of this customer's addresses.")


class OrderView(ShopModelView):
    column_list = ("id", "order_date", "user", "status", "subtotal", "shipping_fee", "total")
    column_details_list = ("id", "order_date", "user", "address", "status", "items", "subtotal", "shipping_fee",
                           "total", "notes", "created_at", "updated_at")
    column_export_list = ("id", "order_date", "user", "status", "subtotal", "shipping_fee", "total")
    column_labels = {"id": "Order", "order_date": "Date", "user": "Customer", "shipping_fee": "Shipping",
                     "created_at": "Created", "updated_at": "Updated"}
    column_formatters = {
        "order_date": date_column, "created_at": date_column, "updated_at": date_column,
        "user": related("customer"), "address": related("address"), "status": status_column,
        "subtotal": money_column, "shipping_fee": money_column, "total": money_column,
        "items": lambda v, c, m, n: ", ".join(f"{i.quantity} × {i.product} @ {i.price:.2f}" for i in m.items),
    }
    column_searchable_list = ("id", "user.username", "user.email")
    column_filters = ("status", "order_date", "total", "shipping_fee", "user.username")
    column_sortable_list = ("id", "order_date", "status", "total", "subtotal", "shipping_fee",
                           ("user", "user.username"))
    column_default_sort = [("order_date", True), ("id", True)]
    column_select_related_list = (Order.user,)
    form_columns = ("user", "address", "status", "shipping_fee", "notes", "items")
    form_choices = {"status": [(s, s.title()) for s in ORDER_STATUSES]}
    form_ajax_refs = {"user": CUSTOMER_LOOKUP, "address": ADDRESS_LOOKUP}
    form_args = {
        "user": {"label": "Customer", "validators": [InputRequired()]},
        "address": {"label": "Ship to", "validators": [InputRequired(), _address_of_customer]},
        "status": {"validators": [InputRequired(), _valid_status_change]},
        "shipping_fee": money(minimum=Decimal("0.00")),
        "notes": {"validators": [Length(max=5000)]},
    }
    inline_models = [
        (OrderItem, {
            "form_columns": ("id", "product", "quantity", "price"),
            "form_ajax_refs": {"product": PRODUCT_LOOKUP},
            "form_args": {
                "product": {"validators": [InputRequired()]},
                "quantity": count(1, 10_000),
                "price": {**money(required=False, minimum=Decimal("0.00")),
                          "description": "Leave empty for the product's current price."},
            },
        })
    ]

    def get_query(self) -> Any:
        # Subtotals for the whole page in the same SELECT (no query per order for its items).
        return super().get_query().options(*Order.with_totals())

    def on_model_change(self, form: Any, model: Order, is_created: bool) -> None:
        for item in model.items:
            if item.price is None and item.product is not None:
                item.price = item.product.price

    def _move(self, ids: list[str], target: str) -> None:
        orders = db.session.scalars(select(Order).where(Order.id.in_(self.ids_from(ids))).order_by(Order.id)).all()
        report = move_orders(list(orders), target)
        db.session.commit()
        if report.moved:
            flash(f"{len(report.moved)} order(s) marked {target}: "
                  + ", ".join(f"#{o.id}" for o in report.moved) + ".", "success")
        if report.refused:
            flash(f"{len(report.refused)} order(s) left unchanged: "
                  + "; ".join(f"#{o.id} ({why})" for o, why in report.refused) + ".", "warning")

    @action("mark_paid", "Mark as paid", "Mark the selected orders as paid?")
    def action_mark_paid(self, ids: list[str]) -> None:
        self._move(ids, "paid")

    @action("mark_shipped", "Mark as shipped", "Mark the selected orders as shipped?")
    def action_mark_shipped(self, ids: list[str]) -> None:
        self._move(ids, "shipped")

    @action("mark_delivered", "Mark as delivered", "Mark the selected orders as delivered?")
    def action_mark_delivered(self, ids: list[str]) -> None:
        self._move(ids, "delivered")

    @action("cancel", "Cancel orders", "Cancel the selected orders?")
    def action_cancel(self, ids: list[str]) -> None:
        self._move(ids, "cancelled")


class OrderItemView(ShopModelView):
    column_list = ("order", "product", "quantity", "price", "subtotal")
    column_labels = {"price": "Unit price"}
    column_formatters = {"order": related("order"), "product": related("product"), "price": money_column,
                         "subtotal": money_column}
    column_searchable_list = ("product.name",)
    column_filters = ("quantity", "price", "subtotal", "order.id")
    column_sortable_list = ("quantity", "price", "subtotal", ("order", "order.id"), ("product", "product.name"))
    column_default_sort = ("id", True)
    column_select_related_list = (OrderItem.order, OrderItem.product)
    form_columns = ("order", "product", "quantity", "price")
    form_ajax_refs = {"order": ORDER_LOOKUP, "product": PRODUCT_LOOKUP}
    form_args = {
        "order": {"validators": [InputRequired()]},
        "product": {"validators": [InputRequired()]},
        "quantity": count(1, 10_000),
        "price": {**money(required=False, minimum=Decimal("0.00")),
                  "description": "Leave empty for the product's current price."},
    }

    def on_model_change(self, form: Any, model: OrderItem, is_created: bool) -> None:
        if model.price is None and model.product is not None:
            model.price = model.product.price


class CartItemView(ShopModelView):
    column_list = ("user", "product", "quantity", "subtotal", "added_at")
    column_labels = {"user": "Customer", "added_at": "Added"}
    column_formatters = {"user": related("customer"), "product": related("product"), "subtotal": money_column,
                         "added_at": date_column}
    column_searchable_list = ("user.username", "product.name")
    column_filters = ("quantity", "added_at")
    column_sortable_list = ("quantity", "added_at", "subtotal", ("user", "user.username"))
    column_default_sort = [("added_at", True), ("id", True)]
    column_select_related_list = (CartItem.user, CartItem.product)
    form_columns = ("user", "product", "quantity")
    form_ajax_refs = {"user": CUSTOMER_LOOKUP, "product": PRODUCT_LOOKUP}
    form_args = {
        "user": {"label": "Customer", "validators": [InputRequired()]},
        "product": {"validators": [InputRequired()]},
        "quantity": count(1, 10_000),
    }
