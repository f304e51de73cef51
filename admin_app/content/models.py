"""The shop's blog (the tutorial's exercise): posts by employees, comments and tags."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, CheckConstraint, Column, ForeignKey, Index, String, Table, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from admin_app.accounts.models import Employee, User
from admin_app.catalog.models import Category
from admin_app.core.models import (
    PARTS,
    SoftDeleteMixin,
    TimestampMixin,
    UTCDateTime,
    VersionedMixin,
    deleted_index,
    live_index,
)
from admin_app.extensions import db

POST_STATUSES = ("draft", "published", "archived")

post_tags = Table(
    "post_tags",
    db.metadata,
    Column("post_id", ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Tag(VersionedMixin, db.Model):
    __tablename__ = "tags"
    kind_label = _l("Tag")  # what staff call one, in their language

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), nullable=False)

    posts: Mapped[list[Post]] = relationship(secondary=post_tags, back_populates="tags")

    __table_args__ = (Index("uq_tags_name_lower", func.lower(name), unique=True),)

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<Tag {self.id} {self.name!r}>"


class Post(TimestampMixin, SoftDeleteMixin, VersionedMixin, db.Model):
    __tablename__ = "posts"
    kind_label = _l("Post")  # what staff call one, in their language

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    content: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(20), default="draft", nullable=False)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True, nullable=False)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)

    author: Mapped[Employee] = relationship(back_populates="posts")
    category: Mapped[Category | None] = relationship(back_populates="posts")
    # The links are parts of the post (a purge removes them), the tags are not.
    tags: Mapped[list[Tag]] = relationship(secondary=post_tags, back_populates="posts", order_by=Tag.name,
                                           info=PARTS)
    # Comments are not parts: one, live or in the trash, blocks the post's purge.
    comments: Mapped[list[Comment]] = relationship(back_populates="post", order_by="Comment.created_at",
                                                   passive_deletes="all")

    __table_args__ = (
        CheckConstraint(f"status IN {POST_STATUSES!r}", name="status_allowed"),
        Index("ix_posts_status_created_at", "status", "created_at"),
        live_index("ix_posts_live_created_at", "created_at", "id"),
        deleted_index("ix_posts_deleted_created_at", "created_at", "id"),
    )

    def __str__(self) -> str:
        return self.title

    def __repr__(self) -> str:
        return f"<Post {self.id} {self.title!r}>"


class Comment(TimestampMixin, SoftDeleteMixin, VersionedMixin, db.Model):
    __tablename__ = "comments"
    kind_label = _l("Comment")  # what staff call one, in their language

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True, nullable=False)
    # Signed-in shoppers are linked; guests leave only a name.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    author_name: Mapped[str] = mapped_column(String(80), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    is_approved: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)

    post: Mapped[Post] = relationship(back_populates="comments")
    user: Mapped[User | None] = relationship()

    __table_args__ = (live_index("ix_comments_live_created_at", "created_at", "id"),
                      deleted_index("ix_comments_deleted_created_at", "created_at", "id"))

    def __str__(self) -> str:
        return f"{self.author_name}: {self.body[:40]}"

    def __repr__(self) -> str:
        return f"<Comment {self.id} on post {self.post_id}>"
