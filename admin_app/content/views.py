"""Views for the shop's blog: posts, comments and tags."""

from __future__ import annotations

from typing import Any

from flask import flash
from flask_admin.actions import action
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select
from wtforms.validators import InputRequired, Length

from admin_app.accounts.models import Employee
from admin_app.catalog.models import Category
from admin_app.catalog.views import CATEGORY_LOOKUP
from admin_app.content.exports import EXPORTS
from admin_app.content.models import POST_STATUSES, Comment, Post, Tag
from admin_app.core.formatters import choices, date_column, related, status_column, yes_no_column
from admin_app.core.models import utcnow
from admin_app.core.validators import UniqueIgnoringCase, lookup, offered_by_lookup, parse_ids
from admin_app.core.views import ShopModelView
from admin_app.extensions import db

# Only active employees write posts: a deactivated one is no longer offered.
EMPLOYEE_LOOKUP = {"fields": (Employee.username, Employee.first_name, Employee.last_name),
                   "placeholder": _l("Type an employee's name"), "page_size": 10,
                   "offered": lambda: Employee.is_active.is_(True)}
POST_LOOKUP = {"fields": (Post.title,), "placeholder": _l("Type a post title"), "minimum_input_length": 1,
               "page_size": 10}


class PostView(ShopModelView):
    column_list = ("title", "author", "status", "category", "published_at", "created_at")
    column_searchable_list = EXPORTS["post"].search_columns
    column_choices = {"status": choices(POST_STATUSES)}  # the status filter is a select of labels
    quick_filters = ("status",)
    column_filters = EXPORTS["post"].filters
    column_details_list = ("title", "author", "status", "category", "tags", "content", "published_at",
                           "created_at", "updated_at")
    column_labels = {"title": _l("Title"), "author": _l("Author"), "status": _l("Status"), "category": _l("Category"),
                     "tags": _l("Tags"), "content": _l("Content"), "published_at": _l("Published"),
                     "created_at": _l("Created"), "updated_at": _l("Updated"), "author.username": _l("Author"),
                     "category.name": _l("Category")}
    column_formatters = {"status": status_column, "author": related("employee"), "category": related("category"),
                         "published_at": date_column, "created_at": date_column, "updated_at": date_column}
    column_sortable_list = ("title", "status", "published_at", "created_at", ("author", "author.username"))
    column_default_sort = ("created_at", True)
    column_select_related_list = (Post.author, Post.category)
    form_columns = ("title", "status", "author", "category", "tags", "content", "published_at")
    form_choices = {"status": choices(POST_STATUSES)}
    form_ajax_refs = {"author": lookup(Employee, "author", **EMPLOYEE_LOOKUP),
                      "category": lookup(Category, "category", **CATEGORY_LOOKUP)}
    form_args = {
        "title": {"validators": [InputRequired(), Length(max=200)]},
        "content": {"validators": [InputRequired()]},
        "author": {"validators": [InputRequired(), offered_by_lookup]},
        "tags": {"query_factory": lambda: db.session.scalars(select(Tag).order_by(Tag.name)).all()},
    }

    def on_model_change(self, form: Any, model: Post, is_created: bool) -> None:
        if model.status == "published" and model.published_at is None:
            model.published_at = utcnow()


class CommentView(ShopModelView):
    column_list = ("post", "author_name", "body", "is_approved", "created_at")
    column_searchable_list = EXPORTS["comment"].search_columns
    quick_filters = ("is_approved",)
    column_filters = EXPORTS["comment"].filters
    column_labels = {"post": _l("Post"), "user": _l("Signed-in customer"), "author_name": _l("Author"),
                     "body": _l("Comment"),
                     "is_approved": _l("Approved"), "created_at": _l("Written"), "post.title": _l("Post")}
    column_formatters = {"post": related("post"), "is_approved": yes_no_column, "created_at": date_column,
                         "body": lambda v, c, m, n: (m.body[:80] + "…") if len(m.body) > 80 else m.body}
    column_sortable_list = ("author_name", "is_approved", "created_at")
    column_default_sort = ("created_at", True)
    column_select_related_list = (Comment.post,)
    form_columns = ("post", "author_name", "body", "is_approved")
    form_ajax_refs = {"post": lookup(Post, "post", **POST_LOOKUP)}
    form_args = {
        "post": {"validators": [InputRequired()]},
        "author_name": {"validators": [InputRequired(), Length(max=80)]},
        "body": {"validators": [InputRequired()]},
    }

    @action("approve", _l("Approve"), _l("Approve the selected comments?"))
    def action_approve(self, ids: list[str]) -> None:
        count = self._set_approved(ids, True)
        flash(ngettext("%(num)d comment approved.", "%(num)d comments approved.", count), "success")

    @action("unapprove", _l("Unapprove"), _l("Withdraw the approval of the selected comments?"))
    def action_unapprove(self, ids: list[str]) -> None:
        count = self._set_approved(ids, False)
        flash(ngettext("%(num)d comment unapproved.", "%(num)d comments unapproved.", count), "success")

    @staticmethod
    def _set_approved(ids: list[str], approved: bool) -> int:
        # Row by row through the ORM, so each change is validated and recorded in the history.
        comments = db.session.scalars(select(Comment).where(Comment.id.in_(parse_ids(ids)))).all()
        for comment in comments:
            comment.is_approved = approved
        db.session.commit()
        return len(comments)


class TagView(ShopModelView):
    column_list = ("name",)
    column_labels = {"name": _l("Name")}
    column_searchable_list = EXPORTS["tag"].search_columns
    column_default_sort = ("name", False)
    form_columns = ("name",)
    form_args = {"name": {"validators": [InputRequired(), Length(max=50), UniqueIgnoringCase(Tag.name)]}}
