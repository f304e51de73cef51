"""Fixtures for the integration tests: a signed-in staff member or admin."""

import pytest

from tests.conftest import login_as


@pytest.fixture
def staff(client, staff_user):
    return login_as(client, staff_user)


@pytest.fixture
def admin(client, admin_user):
    return login_as(client, admin_user)
