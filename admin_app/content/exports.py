"""The export definitions of posts, comments, tags: one per export, used by the views
(their endpoints) and ``manage.py export``."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from admin_app.content.models import Comment, Post, Tag
from admin_app.core.export import ExportSpec
from admin_app.core.export_specs import CREATED, NEWEST_FIRST, col, register_exports

EXPORTS = register_exports({
    "post": ExportSpec(
        model=Post, title="posts",
        columns=(
            col(_l("ID"), "id", "int"), col(_l("Title"), "title"), col(_l("Status"), "status"),
            col(_l("Author"), "author.username"), col(_l("Category"), "category.name"), col(_l("Tags"), "tags.name"),
            col(_l("Published"), "published_at", "datetime"), CREATED,
        ),
        search_columns=("title",),
        filters=("status", "published_at", "created_at", "author.username", "category.name"),
        default_sort=NEWEST_FIRST,
    ),
    "comment": ExportSpec(
        model=Comment, title="comments",
        columns=(
            col(_l("ID"), "id", "int"), col(_l("Post"), "post.title"), col(_l("Author"), "author_name"),
            col(_l("User"), "user.username"), col(_l("Comment"), "body"), col(_l("Approved"), "is_approved", "bool"),
            CREATED,
        ),
        search_columns=("author_name", "body"),
        filters=("is_approved", "created_at", "post.title"),
        default_sort=NEWEST_FIRST,
    ),
    "tag": ExportSpec(
        model=Tag, title="tags",
        columns=(col(_l("ID"), "id", "int"), col(_l("Name"), "name")),
        search_columns=("name",),
        default_sort=(("id", False),),
    ),
})
