"""Outlook tests' shared fixtures: the company of ``tests.web_support``, figures computed."""

import pytest

from tests.web_support import build_company


@pytest.fixture
def company(db):
    """The company of ``tests.web_support`` with its figures computed (modules may override it)."""
    return build_company()
