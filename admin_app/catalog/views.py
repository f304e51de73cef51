"""Views for the catalogue: products and the category tree."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request
from flask_admin import expose
from flask_admin.actions import action
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from wtforms import ValidationError
from wtforms.validators import InputRequired, Length

from admin_app.catalog.exports import EXPORTS
from admin_app.catalog.forms import AdjustStockForm
from admin_app.catalog.models import Category, Product
from admin_app.catalog.stock import StockShortage, adjust_stock, movements_of
from admin_app.core.formatters import date_column, money_column, related, yes_no_column
from admin_app.core.i18n import format_money, format_number
from admin_app.core.security import is_same_site_path
from admin_app.core.validators import UniqueIgnoringCase, UniqueValue, count, lookup, money, parse_id
from admin_app.core.views import ShopModelView, show_on_field
from admin_app.extensions import db

CATEGORY_LOOKUP = {"fields": (Category.name,), "placeholder": _l("Type a category name"), "page_size": 10}
def describe_product(product: Product) -> str:
    """A product as a look-up offers it: two products of one name told apart."""
    return _("%(name)s · %(sku)s · %(price)s · %(stock)s in stock", name=product.name, sku=product.sku,
             price=format_money(product.price), stock=format_number(product.stock))


PRODUCT_LOOKUP = {"fields": (Product.name, Product.sku), "placeholder": _l("Type a product name or SKU"),
                  "minimum_input_length": 1, "page_size": 10, "describe": describe_product,
                  # The order form's running total prices a new line at the product's price.
                  "details": lambda product: {"price": str(product.price)}}

QUICK_CATEGORIES = 12  # links above the product list; the filter takes any other


def top_category_names() -> list[str]:
    """The categories with the most live products (one statement), by name."""
    busiest = (select(Product.category_id).group_by(Product.category_id)
               .order_by(func.count().desc(), Product.category_id).limit(QUICK_CATEGORIES))
    return list(db.session.scalars(select(Category.name).where(Category.id.in_(busiest)).order_by(Category.name)))


class ProductView(ShopModelView):
    column_list = ("name", "sku", "category", "price", "stock", "is_in_stock", "updated_at")
    column_phone_list = ("name", "stock")  # on a phone; "All columns" shows the rest
    column_searchable_list = EXPORTS["product"].search_columns
    quick_filters = ("category.name", "is_in_stock")
    quick_filter_choices = {"category.name": lambda: [(n, n) for n in top_category_names()]}
    column_filters = EXPORTS["product"].filters
    column_details_list = ("name", "sku", "category", "description", "price", "stock", "is_in_stock",
                           "created_at", "updated_at")
    column_labels = {"name": _l("Name"), "sku": _l("SKU"), "category": _l("Category"), "price": _l("Price"),
                     "stock": _l("Stock"), "is_in_stock": _l("In stock"), "description": _l("Description"),
                     "updated_at": _l("Updated"), "created_at": _l("Created"), "category.name": _l("Category")}
    column_formatters = {"price": money_column, "category": related("category"), "is_in_stock": yes_no_column,
                         "updated_at": date_column, "created_at": date_column}
    column_sortable_list = ("name", "sku", "price", "stock", "is_in_stock", "updated_at", ("category", "category.name"))
    column_default_sort = ("updated_at", True)
    column_select_related_list = (Product.category,)
    # ``stock`` on the create form only, as the opening stock; afterwards it moves through the
    # ledger ("Adjust stock", orders), and the edit and details pages show it read-only.
    form_columns = ("name", "sku", "category", "price", "stock", "description")
    form_ajax_refs = {"category": lookup(Category, "category", **CATEGORY_LOOKUP)}
    form_args = {
        "name": {"validators": [InputRequired(), Length(max=100)]},
        "sku": {"validators": [Length(max=32), UniqueValue(Product.sku)]},
        "price": money(),
        "stock": {**count(0), "label": _l("Opening stock"),
                  "description": _l("Units on the shelf now. Later changes go through Adjust stock.")},
    }
    edit_template = "admin/product_edit.html"
    details_template = "admin/product_details.html"

    def on_model_change(self, form: Any, model: Product, is_created: bool) -> None:
        model.sku = (model.sku or "").strip() or None

    def edit_form(self, obj: Any = None) -> Any:
        form = super().edit_form(obj)
        del form.stock  # a stored product's stock is the sum of its movements
        return form

    def render(self, template: str, **kwargs: Any) -> Any:
        model = kwargs.get("model")
        if template in (self.edit_template, self.details_template) and isinstance(model, Product):
            kwargs["stock_movements"] = movements_of(model)
        return super().render(template, **kwargs)

    # -- adjusting stock by hand ------------------------------------------------------------

    @action("adjust_stock", _l("Adjust stock"))
    def action_adjust_stock(self, ids: list[str]) -> Any:
        """Nothing changes yet: the form asks how many units, and why."""
        return redirect(self.get_url(".adjust_stock_view", id=[str(i) for i in self.ids_from(ids)],
                                     url=self.get_url(".index_view")))

    @expose("/adjust-stock/", methods=("GET", "POST"))
    def adjust_stock_view(self) -> Any:
        """One quantity, reason and note for each of the given products (one from its page,
        several from the list), in one transaction: all are adjusted, or none."""
        if not self.can_write():
            abort(403)
        products = self.selected_rows(request.values.getlist("id"))
        if not products:
            flash(_("Choose the products whose stock you want to adjust."), "warning")
            return redirect(self.get_url(".index_view"))
        back = self.adjust_stock_return_url(products)
        form = AdjustStockForm()
        if form.validate_on_submit() and self.adjust_products_stock(form, products):
            return redirect(back)
        return self.render("admin/adjust_stock.html", form=form, products=products, return_url=back)

    def adjust_stock_return_url(self, products: list[Product]) -> str:
        """Where Adjust stock leads back to: the page it came from (on this site), else the
        product's page for one product and the list for several."""
        back = request.values.get("url", "")
        if is_same_site_path(back):
            return back
        return self.get_url(".details_view", id=products[0].id) if len(products) == 1 else self.get_url(".index_view")

    def adjust_products_stock(self, form: AdjustStockForm, products: list[Product]) -> bool:
        """The form's movement for each product, committed together; a shortage rolls all back
        and is shown on the quantity."""
        before = {product.id: product.stock for product in products}
        try:
            for product in products:
                adjust_stock(product, form.quantity.data, form.reason.data, form.note.data)
            db.session.commit()
        except StockShortage as shortage:
            db.session.rollback()
            show_on_field(form, "quantity", shortage.message)
            return False
        flash(_("Stock adjusted: %(changes)s.", changes="; ".join(
            f"{p.name} {format_number(before[p.id])} → {format_number(p.stock)}" for p in products)), "success")
        return True


def _not_own_ancestor(form: Any, field: Any) -> None:
    """A category cannot be moved under itself or under one of its own descendants."""
    editing = parse_id(request.args.get("id"))
    parent = field.data
    if parent is None or editing is None:
        return
    node, seen = parent, set()
    while node is not None and node.id not in seen:
        if node.id == editing:
            raise ValidationError(_("A category cannot be placed under itself or one of its sub-categories."))
        seen.add(node.id)
        node = node.parent


class CategoryView(ShopModelView):
    column_list = ("name", "parent", "description", "created_at")
    column_searchable_list = EXPORTS["category"].search_columns
    column_filters = EXPORTS["category"].filters
    column_details_list = ("name", "parent", "children", "description", "created_at", "updated_at")
    column_labels = {"name": _l("Name"), "parent": _l("Parent category"), "children": _l("Sub-categories"),
                     "description": _l("Description"), "created_at": _l("Created"), "updated_at": _l("Updated"),
                     "parent.name": _l("Parent category")}
    column_formatters = {"parent": related("category"), "created_at": date_column, "updated_at": date_column}
    column_sortable_list = ("name", "created_at", ("parent", "parent.name"))
    column_default_sort = ("name", False)
    column_select_related_list = (Category.parent,)
    form_columns = ("name", "parent", "description")
    form_ajax_refs = {"parent": lookup(Category, "parent", **CATEGORY_LOOKUP)}
    form_args = {
        "name": {"validators": [InputRequired(), Length(max=50), UniqueIgnoringCase(Category.name)]},
        "parent": {"validators": [_not_own_ancestor]},
    }
