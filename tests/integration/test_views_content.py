"""Blog views through their real URLs: posts (tags, author lookup), comments and tags."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from admin_app.audit.models import AuditLog
from admin_app.content.models import Comment, Post, Tag
from admin_app.extensions import db
from tests import factories as f
from tests.conftest import csrf_token_from
from tests.integration.helpers import assert_no_raw_sql, delete, gone, submit


def count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def post_form(writer: Any, **fields: Any) -> dict[str, Any]:
    return {"title": "Spring sale", "status": "draft", "author": str(writer.id), "category": "",
            "content": "Everything must go", "published_at": "", **fields}


# -- posts --------------------------------------------------------------------------------


def test_create_edit_delete_post(client, staff, staff_user):
    news, sale = f.tag(name="news"), f.tag(name="sale")
    lighting = f.category(name="Lighting")
    response = submit(client, "/admin/post/new/", {**post_form(staff_user, category=str(lighting.id)),
                                                   "tags": [str(news.id), str(sale.id)]})
    assert response.status_code == 302, response.text
    post = db.session.scalars(select(Post)).one()
    assert (post.title, post.status, post.author_id, post.category_id, post.published_at) == (
        "Spring sale", "draft", staff_user.id, lighting.id, None)
    assert sorted(t.name for t in post.tags) == ["news", "sale"]
    listing = client.get("/admin/post/").text
    assert "Spring sale" in listing and "Staff Tester" in listing and "Lighting" in listing

    response = submit(client, f"/admin/post/edit/?id={post.id}",
                      {**post_form(staff_user, title="Summer sale", status="published"), "tags": [str(sale.id)]})
    assert response.status_code == 302, response.text
    db.session.expire_all()
    post = db.session.get(Post, post.id)
    assert (post.title, post.status, post.category_id) == ("Summer sale", "published", None)
    assert post.published_at is not None  # publishing stamps the time
    assert [t.name for t in post.tags] == ["sale"]

    post_id = post.id
    assert delete(client, "post", post_id).status_code == 302
    assert gone(Post, post_id)
    assert count(Tag) == 2  # the tags stay


def test_post_published_at_is_typed_in_utc(client, staff, staff_user):
    response = submit(client, "/admin/post/new/",
                      post_form(staff_user, status="published", published_at="2026-03-01 09:30:00"))
    assert response.status_code == 302, response.text
    post = db.session.scalars(select(Post)).one()
    assert post.published_at.isoformat() == "2026-03-01T09:30:00+00:00"


@pytest.mark.parametrize("fields, message", [
    ({"status": "secret"}, "Not a valid choice"),
    ({"title": ""}, "This field is required."),
    ({"title": "x" * 201}, "Field cannot be longer than 200 characters."),
    ({"content": ""}, "This field is required."),
    ({"author": ""}, "This field is required."),
    ({"author": "abc"}, "Not a valid choice"),
    ({"published_at": "yesterday"}, "Not a valid datetime value"),
])
def test_post_form_checks(client, staff, staff_user, fields, message):
    response = submit(client, "/admin/post/new/", post_form(staff_user, **fields))
    assert response.status_code == 200
    assert message in response.text
    assert_no_raw_sql(response.text)
    assert count(Post) == 0


def test_forged_status_on_edit_is_refused(client, staff, staff_user):
    post = f.post(author=staff_user, title="Hello")
    response = submit(client, f"/admin/post/edit/?id={post.id}", post_form(staff_user, title="Hello", status="gone"))
    assert response.status_code == 200
    assert "Not a valid choice" in response.text
    db.session.expire_all()
    assert db.session.get(Post, post.id).status == "draft"


def test_post_list_escapes_html_titles(client, staff, staff_user):
    f.post(author=staff_user, title='<script>alert("x")</script>')
    page = client.get("/admin/post/").text
    assert '<script>alert("x")</script>' not in page
    assert "&lt;script&gt;" in page


# -- comments -----------------------------------------------------------------------------


def test_create_edit_delete_comment(client, staff):
    post = f.post(title="Spring sale")
    response = submit(client, "/admin/comment/new/",
                      {"post": str(post.id), "author_name": "Guest", "body": "Great prices", "is_approved": "y"})
    assert response.status_code == 302, response.text
    comment = db.session.scalars(select(Comment)).one()
    assert (comment.post_id, comment.author_name, comment.body, comment.is_approved) == (
        post.id, "Guest", "Great prices", True)
    listing = client.get("/admin/comment/").text
    assert "Great prices" in listing and "Spring sale" in listing

    response = submit(client, f"/admin/comment/edit/?id={comment.id}",
                      {"post": str(post.id), "author_name": "Guest", "body": "Edited"})
    assert response.status_code == 302, response.text
    db.session.expire_all()
    comment = db.session.get(Comment, comment.id)
    assert (comment.body, comment.is_approved) == ("Edited", False)

    comment_id = comment.id
    assert delete(client, "comment", comment_id).status_code == 302
    assert gone(Comment, comment_id)


@pytest.mark.parametrize("fields, message", [
    ({"post": ""}, "This field is required."),
    ({"author_name": ""}, "This field is required."),
    ({"author_name": "x" * 81}, "Field cannot be longer than 80 characters."),
    ({"body": ""}, "This field is required."),
])
def test_comment_form_checks(client, staff, fields, message):
    post = f.post()
    response = submit(client, "/admin/comment/new/",
                      {"post": str(post.id), "author_name": "Guest", "body": "Hi", **fields})
    assert response.status_code == 200
    assert message in response.text
    assert count(Comment) == 0


def test_approve_comments_in_bulk(client, staff):
    post = f.post()
    first, second = f.comment(post), f.comment(post)
    page = client.get("/admin/comment/")
    response = client.post("/admin/comment/action/", data={
        "csrf_token": csrf_token_from(page.text), "action": "approve", "rowid": [str(first.id), str(second.id)]})
    assert response.status_code == 302
    assert "2 comments approved." in client.get(response.headers["Location"]).text
    db.session.expire_all()
    assert all(db.session.get(Comment, c.id).is_approved for c in (first, second))


def test_long_comment_is_shortened_in_the_list(client, staff):
    f.comment(body="word " * 40)
    page = client.get("/admin/comment/").text
    assert re.search(r"(word ){15}.*…", page)


# -- tags ---------------------------------------------------------------------------------


def test_create_edit_delete_tag(client, staff):
    response = submit(client, "/admin/tag/new/", {"name": "news"})
    assert response.status_code == 302, response.text
    tag = db.session.scalars(select(Tag)).one()
    assert tag.name == "news"
    assert "news" in client.get("/admin/tag/").text

    response = submit(client, f"/admin/tag/edit/?id={tag.id}", {"name": "News"})
    assert response.status_code == 302, response.text
    db.session.expire_all()
    assert db.session.get(Tag, tag.id).name == "News"

    post = f.post(tags=[db.session.get(Tag, tag.id)])
    tag_id, post_id = tag.id, post.id
    assert delete(client, "tag", tag_id).status_code == 302
    assert gone(Tag, tag_id)
    db.session.expire_all()
    assert db.session.get(Post, post_id).tags == []


@pytest.mark.parametrize("name, message", [
    ("NEWS", "This name is already taken."),
    ("", "This field is required."),
    ("x" * 51, "Field cannot be longer than 50 characters."),
])
def test_tag_form_checks(client, staff, name, message):
    f.tag(name="news")
    response = submit(client, "/admin/tag/new/", {"name": name})
    assert response.status_code == 200
    assert message in response.text
    assert_no_raw_sql(response.text)
    assert count(Tag) == 1


def test_tag_race_gets_a_friendly_message(client, staff, monkeypatch):
    f.tag(name="news")
    monkeypatch.setattr("admin_app.core.validators.UniqueIgnoringCase.__call__", lambda self, form, field: None)
    response = submit(client, "/admin/tag/new/", {"name": "News"})
    assert response.status_code == 200
    assert "A tag with this name already exists." in response.text
    assert_no_raw_sql(response.text)
    assert count(Tag) == 1
    response = submit(client, "/admin/tag/new/", {"name": "sale"})
    assert response.status_code == 302
    assert count(Tag) == 2


def test_unapprove_comments_in_bulk_is_recorded_like_approve(client, staff):
    post = f.post()
    first, second = f.comment(post, is_approved=True), f.comment(post, is_approved=True)
    page = client.get("/admin/comment/")
    assert "modelActions.execute('unapprove')" in page.text
    response = client.post("/admin/comment/action/", data={
        "csrf_token": csrf_token_from(page.text), "action": "unapprove", "rowid": [str(first.id), str(second.id)]})
    assert response.status_code == 302
    assert "2 comments unapproved." in client.get(response.headers["Location"]).text
    db.session.expire_all()
    assert not any(db.session.get(Comment, c.id).is_approved for c in (first, second))
    changes = db.session.scalars(select(AuditLog).where(AuditLog.entity_type == "Comment",
                                                        AuditLog.entity_id == str(first.id),
                                                        AuditLog.action == "update")).all()
    assert len(changes) == 1 and "is_approved" in str(changes[0].changes)
