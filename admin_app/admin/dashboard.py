"""The back office's home page at ``/admin/``."""

from __future__ import annotations

from flask_admin import AdminIndexView, expose

from admin_app.admin.base import RoleAccessMixin


class DashboardView(RoleAccessMixin, AdminIndexView):
    @expose("/")
    def index(self):
        return self.render("admin/dashboard.html")
