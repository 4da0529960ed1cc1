"""scripts/start.sh as a new user runs it, twice, on its embedded default (a SQLite file).

The first start builds the demo; a reason recorded through the site survives a second start
(which must not rebuild the demo). The started site runs like the product: DEBUG off (another
team's case is the site's own 404 page, not Django's URL list), static files served by whitenoise,
no "AXES: BEGIN" banner, and a refused request logged once, without a traceback.
"""

import http.cookiejar
import os
import re
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "retention-demo"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Started:
    def __init__(self, db: Path, log: Path):
        self.port = free_port()
        self.log = log
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("REDIS_URL", "TEST_DB_NAME", "CELERY_QUEUE", "DEBUG", "SECRET_KEY")
        }
        env.update({"DATABASE_URL": f"sqlite:///{db}", "BIND": f"127.0.0.1:{self.port}", "PYTHONUNBUFFERED": "1"})
        self.out = open(log, "w")
        self.process = subprocess.Popen(
            ["bash", "scripts/start.sh"],
            cwd=ROOT,
            env=env,
            stdout=self.out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"start.sh ended early:\n{self.output()}"
            try:
                urllib.request.urlopen(self.url("/healthz"), timeout=2)
                return
            except urllib.error.HTTPError:
                return  # answering (503 while the first figures settle is fine)
            except OSError:
                time.sleep(1)
        raise AssertionError(f"the site did not answer:\n{self.output()}")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def output(self) -> str:
        if not self.out.closed:
            self.out.flush()
        return self.log.read_text()

    def stop(self):
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(30)
        self.out.close()


class Browser:
    """A signed-in session over plain HTTP (cookies kept, CSRF token sent)."""

    def __init__(self, site: Started, email: str):
        self.site = site
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        page = self.get("/accounts/login/")[1]
        self.post("/accounts/login/", {"username": email, "password": PASSWORD}, page)

    def get(self, path: str) -> tuple[int, str]:
        try:
            with self.opener.open(self.site.url(path), timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def post(self, path: str, data: dict, form_page: str) -> tuple[int, str]:
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form_page).group(1)
        body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": token}).encode()
        try:
            with self.opener.open(self.site.url(path), body, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


def test_a_second_start_keeps_a_recorded_reason_and_the_site_runs_like_the_product(tmp_path):
    db = tmp_path / "db.sqlite3"
    site = Started(db, tmp_path / "first.log")
    try:
        assert "Building the demo company" in site.output()
        admin = Browser(site, "admin@example.com")
        with sqlite3.connect(db) as con:
            case_id = con.execute(
                "SELECT id FROM metrics_churncase WHERE primary_reason_id IS NULL AND void = 0 ORDER BY id LIMIT 1"
            ).fetchone()[0]
            code = con.execute(
                "SELECT code FROM metrics_churnreason WHERE active = 1 ORDER BY code LIMIT 1"
            ).fetchone()[0]
        status, page = admin.get(f"/reasons/cases/{case_id}/")
        assert status == 200
        status, _ = admin.post(
            f"/reasons/cases/{case_id}/", {"primary_reason": code, "notes": "Told us on the phone."}, page
        )
        assert status == 200  # redirected back to the case

        # DEBUG is off: another team's case is the site's own 404 page, not Django's URL list.
        lead = Browser(site, "lead@example.com")
        with sqlite3.connect(db) as con:
            led = [
                r[0]
                for r in con.execute(
                    "SELECT t.id FROM accounts_team t JOIN accounts_user u ON u.id = t.lead_id WHERE u.email = 'lead@example.com'"
                )
            ]
            marks = ",".join("?" * len(led))
            other_case = con.execute(
                f"SELECT id FROM metrics_churncase WHERE COALESCE(csm_team_id, 0) NOT IN ({marks}) "
                f"AND COALESCE(am_team_id, 0) NOT IN ({marks}) AND id <> ? LIMIT 1",
                [*led, *led, case_id],
            ).fetchone()[0]
        status, page = lead.get(f"/reasons/cases/{other_case}/")
        assert status == 404
        assert 'data-testid="error-404"' in page and "URLconf" not in page and "Traceback" not in page
        # Static files come from whitenoise (runserver serves none with DEBUG off).
        css = re.search(r'href="(/static/css/site[^"]*\.css)"', page).group(1)
        assert lead.get(css)[0] == 200
        # A form posted without its CSRF token: the site's own page.
        status, page = lead.post(
            "/accounts/password/", {"old_password": "x"}, 'name="csrfmiddlewaretoken" value="wrong"'
        )
        assert status == 403 and 'data-testid="error-csrf"' in page
    finally:
        site.stop()
    first = site.output()
    assert "AXES: BEGIN" not in first
    refusals = [line for line in first.splitlines() if f"/reasons/cases/{other_case}/" in line]
    assert len(refusals) == 1, refusals  # logged once...
    assert "Traceback" not in first  # ...without a traceback

    site = Started(db, tmp_path / "second.log")
    try:
        assert "Building the demo company" not in site.output()
    finally:
        site.stop()
    with sqlite3.connect(db) as con:
        kept = con.execute(
            "SELECT r.code, c.notes FROM metrics_churncase c JOIN metrics_churnreason r ON r.id = c.primary_reason_id WHERE c.id = ?",
            [case_id],
        ).fetchone()
    assert kept == (code, "Told us on the phone.")
