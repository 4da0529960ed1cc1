"""One rounding rule (half up) for every ratio, computed or shown."""

from datetime import date
from decimal import Decimal

from metrics.models import RetentionSnapshot
from web.templatetags.retention_format import percent, rate


def test_pages_round_a_rate_half_up_like_the_engine():
    # Decimal's own formatting rounds half to even: 108.25% would show as 108.2%.
    assert rate(Decimal("1.0825")) == "108.3%"
    assert rate(Decimal("0.9935")) == "99.4%"
    assert percent(Decimal("0.6250")) == "62.5%"  # the reason pages' shares
    assert rate(None) == "—" and percent("") == "—"


def test_a_snapshots_logo_retention_is_an_exact_four_decimal_rate():
    snapshot = RetentionSnapshot(period_start=date(2025, 1, 1), logos_start=3, logos_churned=1)
    assert snapshot.logo_retention == Decimal("0.6667")  # 2/3, half up; never a float
    assert RetentionSnapshot(logos_start=0, logos_churned=0).logo_retention is None
