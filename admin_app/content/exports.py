"""The export definitions of posts, comments, tags: one per export, used by the views
(their endpoints) and ``manage.py export``."""

from __future__ import annotations

from admin_app.content.models import Comment, Post, Tag
from admin_app.core.export import ExportSpec
from admin_app.core.export_specs import CREATED, NEWEST_FIRST, col, register_exports

EXPORTS = register_exports({
    "post": ExportSpec(
        model=Post, title="posts",
        columns=(
            col("ID", "id", "int"), col("Title", "title"), col("Status", "status"),
            col("Author", "author.username"), col("Category", "category.name"), col("Tags", "tags.name"),
            col("Published", "published_at", "datetime"), CREATED,
        ),
        search_columns=("title",),
        filters=("status", "published_at", "created_at", "author.username", "category.name"),
        default_sort=NEWEST_FIRST,
    ),
    "comment": ExportSpec(
        model=Comment, title="comments",
        columns=(
            col("ID", "id", "int"), col("Post", "post.title"), col("Author", "author_name"),
            col("User", "user.username"), col("Comment", "body"), col("Approved", "is_approved", "bool"),
            CREATED,
        ),
        search_columns=("author_name", "body"),
        filters=("is_approved", "created_at", "post.title"),
        default_sort=NEWEST_FIRST,
    ),
    "tag": ExportSpec(
        model=Tag, title="tags",
        columns=(col("ID", "id", "int"), col("Name", "name")),
        search_columns=("name",),
        default_sort=(("id", False),),
    ),
})
