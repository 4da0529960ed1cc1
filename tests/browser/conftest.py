"""The browser tests' shared fixtures: the seeded reason taxonomy kept across live-server flushes,
and the company of ``tests.web_support`` behind a live server."""

import pytest

from tests.browser_support import seed_reason_taxonomy
from tests.web_support import build_company


@pytest.fixture(autouse=True)
def reason_taxonomy(transactional_db):
    seed_reason_taxonomy()


@pytest.fixture(scope="module", autouse=True)
def leave_the_reason_taxonomy_behind(django_db_blocker):
    """Live-server and worker tests end with a flush that empties the seeded reason taxonomy:
    seed it again for the tests that come next."""
    yield
    with django_db_blocker.unblock():
        seed_reason_taxonomy()


@pytest.fixture
def company(live_server):
    return build_company()
