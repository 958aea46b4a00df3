"""Staff users in each role, and a client logged in as each."""

import pytest
from django.contrib.auth.models import Group

from affiliates.roles import PROGRAM_MANAGER, SUPPORT
from tests.factories import UserFactory


def _staff(email: str, group: str):
    user = UserFactory(email=email, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def manager(db):
    return _staff("manager@example.com", PROGRAM_MANAGER)


@pytest.fixture
def support(db):
    return _staff("support@example.com", SUPPORT)


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def support_client(client, support):
    client.force_login(support)
    return client
