"""The weekly digest: sent through a real SMTP server (aiosmtpd, started here) configured the way
production is (EMAIL_URL through dj-email-url); what an owner and a lead read; turning it off."""

import email
import email.policy
import socket
from datetime import date
from decimal import Decimal

import dj_email_url
import pytest
from aiosmtpd.controller import Controller

from metrics import recompute
from metrics.models import ChurnCase, ContractLine, PendingRecompute
from outlook.digest import send_weekly_digests, week_before
from outlook.models import DigestPreference, DigestSent, RiskMark, Target
from tests.outlook_support import build_outlook_company
from tests.web_support import TODAY

D = Decimal


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            (envelope.rcpt_tos, email.message_from_bytes(envelope.original_content, policy=email.policy.default))
        )
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(settings):
    """A real SMTP server on a free local port; Django's mail settings from an EMAIL_URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    for name, value in dj_email_url.parse(f"smtp://127.0.0.1:{port}").items():
        setattr(settings, name, value)
    settings.SITE_URL = "https://retention.example.com"
    yield inbox
    controller.stop()


def text_of(message) -> str:
    return next(
        part.get_payload(decode=True).decode() for part in message.walk() if part.get_content_type() == "text/plain"
    )


def html_of(message) -> str:
    return next(
        part.get_payload(decode=True).decode() for part in message.walk() if part.get_content_type() == "text/html"
    )


@pytest.fixture
def world(db, on_today):
    """The outlook company, and in the week of Nov 16-22: Gamma falls from 7,000 to 5,000 on
    Nov 18 (Cid, CS East), Acme is marked at risk (its Support line ends Dec 15). Targets 2026:
    Ann (CSM) GRR 30%, CS East (CSM) GRR 60%. Bob turned the digest off."""
    world = build_outlook_company(compute=False)
    gamma_line = ContractLine.objects.get(external_id="L5")
    gamma_line.end_date = date(2026, 11, 17)
    gamma_line.save()
    ContractLine.objects.create(
        external_id="L13", customer=world["gamma"], product="Core", start_date=date(2026, 11, 18), arr=D("5000")
    )
    PendingRecompute.objects.all().delete()
    recompute.recompute_all(TODAY)
    mark = RiskMark.objects.create(
        customer=world["acme"],
        status="at_risk",
        expected_loss=D("1500"),
        noted_on=date(2026, 11, 19),
        note="Budget review",
        recorded_by=world["ann"],
    )
    RiskMark.objects.filter(pk=mark.pk).update(recorded_at="2026-11-19T10:00:00Z")
    Target.objects.create(fiscal_year=2026, scope_type="owner", user=world["ann"], role="csm", grr=D("0.30"))
    Target.objects.create(fiscal_year=2026, scope_type="team", team=world["east"], role="csm", grr=D("0.60"))
    DigestPreference.objects.create(user=world["bob"], weekly_digest=False)
    return world


def test_the_week_before(world):
    assert week_before(date(2026, 11, 23)) == (date(2026, 11, 16), date(2026, 11, 22))
    assert week_before(date(2026, 11, 29)) == (date(2026, 11, 16), date(2026, 11, 22))


def test_owners_and_leads_get_their_week_by_smtp(world, smtp):
    assert ChurnCase.objects.filter(customer=world["gamma"], date=date(2026, 11, 18), kind="contraction").exists()
    result = send_weekly_digests()
    received = {to[0]: message for to, message in smtp.messages}
    # Owners today (Ann, Cid, Bob, Amy) and leads (Lena, Walt); Bob turned it off; no admin or executive.
    assert sorted(received) == [
        "amy@example.com",
        "ann@example.com",
        "cid@example.com",
        "lena@example.com",
        "walt@example.com",
    ]
    assert result == {"week_start": "2026-11-16", "sent": 5, "already_sent": 0}

    ann = received["ann@example.com"]
    assert str(ann["Subject"]) == "Your retention week, Nov 16 – Nov 22"
    text = text_of(ann)
    # Ann's CSM book, TTM Nov 2025 - Oct 2026: NRR 17,000/36,000, GRR 12,000/36,000 against 30%.
    assert "- Your book (CSM), TTM Nov 2025 – Oct 2026: NRR 47.2%, GRR 33.3% (target 30.0%, +3.3 pts)" in text
    assert "Acme marked at risk (expected loss $1,500) by ann@example.com: Budget review" in text
    assert "Gamma" not in text  # Cid's account, not Ann's
    assert "- 1 case, $24,000 ARR lost; your team lead records them" in text  # Beta, no reason yet
    assert "- 2026-12-15 Acme Support: $2,000 ARR, open, at risk (expected loss $1,500)" in text
    assert "Turn it off: https://retention.example.com/outlook/digest/" in text
    assert 'href="https://retention.example.com/outlook/digest/"' in html_of(ann)

    lena = text_of(received["lena@example.com"])
    # CS East (CSM) TTM: GRR 19,000/46,000 = 41.3% against 60%.
    assert "- CS East (CSM), TTM Nov 2025 – Oct 2026: NRR 52.2%, GRR 41.3% (target 60.0%, -18.7 pts)" in lena
    assert "- 2026-11-18 Gamma: contraction, $2,000 ARR lost" in lena
    # Her queue: Beta's churn (24,000) and Gamma's two contractions (3,000 on Oct 1, 2,000 on Nov 18).
    assert "- 3 cases, $29,000 ARR lost: record them at https://retention.example.com/reasons/" in lena
    assert "Acme Support" in lena
    walt = text_of(received["walt@example.com"])
    assert "Gamma" not in walt and "Acme" not in walt and "- None." in walt


def test_a_second_run_of_the_week_sends_nothing(world, smtp):
    send_weekly_digests()
    count = len(smtp.messages)
    assert send_weekly_digests() == {"week_start": "2026-11-16", "sent": 0, "already_sent": 5}
    assert len(smtp.messages) == count and DigestSent.objects.count() == 5


def test_a_user_turns_the_digest_off_and_on(client, world, smtp):
    client.force_login(world["ann"])
    page = client.get("/outlook/digest/")
    assert page.status_code == 200 and "You get the weekly digest at ann@example.com." in page.content.decode()
    assert 'href="/outlook/digest/"' in page.content.decode()
    client.post("/outlook/digest/", {})
    assert "You will not get the weekly digest." in client.get("/outlook/digest/").content.decode()
    send_weekly_digests()
    assert "ann@example.com" not in [to[0] for to, _ in smtp.messages]
    client.post("/outlook/digest/", {"weekly_digest": "on"})
    assert DigestPreference.objects.get(user=world["ann"]).weekly_digest


def test_beat_runs_the_digest_weekly(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["weekly-digest"]
    assert entry["task"] == "outlook.tasks.send_weekly_digests"
    assert entry["schedule"].day_of_week == {1} and entry["schedule"].hour == {7}
    from retention_site.celery import app

    app.loader.import_default_modules()
    assert "outlook.tasks.send_weekly_digests" in app.tasks
