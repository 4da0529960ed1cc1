"""A production-like stack of its own for fault tests: a PostgreSQL cluster (initdb into a temp
dir, on a free port, Debian's binaries run as the ``postgres`` OS user), a Redis server, and the
site's processes (migrate, seed_demo, Celery worker and beat, gunicorn) as subprocesses pointed
at them. Never the shared PostgreSQL (5432) or Redis (6379).

Used by ``tests/test_own_postgres.py`` and by hand for fault probes.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, seconds: float, step: float = 0.1):
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(step)


def pg_bin() -> Path:
    versions = sorted(
        (p for p in Path("/usr/lib/postgresql").iterdir() if (p / "bin" / "initdb").exists()),
        key=lambda p: [int(x) for x in re.findall(r"\d+", p.name)],
    )
    return versions[-1] / "bin"


class Cluster:
    """A PostgreSQL cluster of its own, trust auth on 127.0.0.1:port."""

    def __init__(self, database: str = "retention"):
        self.bin = pg_bin()
        self.port = free_port()
        self.database = database
        self.dir = Path(tempfile.mkdtemp(prefix="own-pg-", dir="/tmp"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        as_root = os.geteuid() == 0
        self.run_as = ["runuser", "-u", "postgres", "--"] if as_root else []
        if as_root:
            shutil.chown(self.dir, "postgres", "postgres")

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{self.database}"

    def pg(self, *args: str, check=True, timeout=60) -> subprocess.CompletedProcess:
        return subprocess.run([*self.run_as, *args], check=check, timeout=timeout, capture_output=True, text=True)

    def init(self) -> Cluster:
        self.pg(
            str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"
        )
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.dir}'\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 50\n"
            )
        self.start()
        self.psql("postgres", f'CREATE DATABASE "{self.database}"')
        return self

    def ctl(self, *args: str, timeout=60) -> subprocess.CompletedProcess:
        return self.pg(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-w",
            "-t",
            "30",
            *args,
            timeout=timeout,
        )

    def start(self):
        self.ctl("start")

    def stop(self, mode="fast"):
        self.ctl("stop", "-m", mode)

    def restart(self, mode="fast"):
        self.ctl("restart", "-m", mode)

    def psql(self, database: str, sql: str) -> str:
        out = self.pg(
            str(self.bin / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            database,
            "-v",
            "ON_ERROR_STOP=1",
            "-tAc",
            sql,
        )
        return out.stdout.strip()

    def query(self, sql: str, params=()):
        """Rows of one query on the site's database (a fresh connection; None if it is down)."""
        import psycopg

        try:
            with psycopg.connect(
                host="127.0.0.1",
                port=self.port,
                user="postgres",
                dbname=self.database,
                autocommit=True,
                connect_timeout=3,
            ) as conn:
                return conn.execute(sql, params).fetchall()
        except psycopg.OperationalError:
            return None

    def destroy(self):
        if (self.data / "postmaster.pid").exists():
            self.pg(
                str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-t", "20", "stop", "-m", "immediate", check=False
            )
        shutil.rmtree(self.dir, ignore_errors=True)


class RedisServer:
    def __init__(self):
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="own-redis-"))
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=open(self.dir / "redis.log", "w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=1)

        def answers():
            try:
                return client.ping()
            except redis.RedisError:
                return False

        assert wait_until(answers, 10), "redis-server did not start"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def destroy(self):
        stop(self.process)
        shutil.rmtree(self.dir, ignore_errors=True)


def stop(process: subprocess.Popen | None, sig=signal.SIGTERM, seconds=20):
    """Stop one process we started (and its children, in its own process group), by its id."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        process.send_signal(sig)
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


class Site:
    """The site's commands and processes against one cluster and one Redis."""

    def __init__(self, cluster: Cluster, redis_url: str, workdir: Path, **settings: str):
        self.cluster = cluster
        self.workdir = Path(workdir)
        self.queue = f"own-{cluster.port}"
        self.env = {k: v for k, v in os.environ.items() if k not in ("TEST_DB_NAME", "DJANGO_ALLOW_ASYNC_UNSAFE")}
        self.env.update(
            DATABASE_URL=cluster.url,
            REDIS_URL=redis_url,
            CELERY_QUEUE=self.queue,
            PYTHONUNBUFFERED="1",
            DJANGO_SETTINGS_MODULE="retention_site.settings",
            **settings,
        )
        self.processes: list[subprocess.Popen] = []

    def manage(self, *args: str, timeout=120) -> str:
        done = subprocess.run(
            [PYTHON, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        assert done.returncode == 0, f"manage.py {' '.join(args)}:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
        return done.stdout

    def shell(self, code: str) -> str:
        return self.manage("shell", "-c", code)

    def spawn(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "a")
        process = subprocess.Popen(
            list(args), cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        process.log_path = self.workdir / f"{name}.log"
        self.processes.append(process)
        return process

    def worker(self, name="w1", *options: str) -> subprocess.Popen:
        options = options or ("--pool", "solo")
        return self.spawn(
            name,
            PYTHON,
            "-m",
            "celery",
            "-A",
            "retention_site",
            "worker",
            "-Q",
            self.queue,
            "-n",
            f"{name}@%h",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            *options,
        )

    def beat(self) -> subprocess.Popen:
        return self.spawn(
            "beat",
            PYTHON,
            "-m",
            "celery",
            "-A",
            "retention_site",
            "beat",
            "--loglevel",
            "INFO",
            "-s",
            str(self.workdir / "beat-schedule"),
        )

    def gunicorn(self, port: int, *options: str) -> subprocess.Popen:
        options = options or ("--workers", "2", "--threads", "4", "--timeout", "30")
        process = self.spawn(
            "gunicorn",
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "retention_site.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-k",
            "gthread",
            *options,
        )
        base = f"http://127.0.0.1:{port}"

        def up():
            try:
                return get(f"{base}/accounts/login/", timeout=5)[0] == 200
            except OSError:
                return False

        assert wait_until(up, 30, 0.2), process.log_path.read_text()[-3000:]
        return process

    def send_task(self, name: str):
        from celery import Celery

        app = Celery("probe", broker=self.env["REDIS_URL"])
        try:
            return app.send_task(name, queue=self.queue)
        finally:
            app.close()

    def status(self):
        """(input_version, running_version, last_error_at) of RecomputeStatus, or None if the database is down."""
        rows = self.cluster.query(
            "SELECT input_version, running_version, last_error_at FROM metrics_recomputestatus WHERE id = 1"
        )
        return rows[0] if rows else None

    def pending(self):
        rows = self.cluster.query("SELECT count(*) FROM metrics_pendingrecompute")
        return rows[0][0] if rows else None

    def destroy(self):
        for process in reversed(self.processes):
            stop(process)


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is an answer of its own (302 to the sign-in page, say)


class Browser:
    """Cookies kept by hand: with DEBUG off the site's cookies are Secure, which a cookie jar
    would never send back over plain http to 127.0.0.1."""

    def __init__(self):
        self.cookies: dict[str, str] = {}
        self.opener = urllib.request.build_opener(NoRedirects)

    def open(self, request: urllib.request.Request, timeout: float):
        if self.cookies:
            request.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        try:
            response = self.opener.open(request, timeout=timeout)
        except urllib.error.HTTPError as error:
            self.keep(error.headers)
            raise
        self.keep(response.headers)
        return response

    def keep(self, headers):
        for header in headers.get_all("Set-Cookie") or []:
            name, _, value = header.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value.strip()


def get(
    url: str, browser: Browser | None = None, timeout=60, data: bytes | None = None, headers=None
) -> tuple[int, str, dict]:
    """(status, body, headers) of one request; no redirect is followed."""
    browser = browser or Browser()
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with browser.open(request, timeout) as response:
            return response.status, response.read().decode(errors="replace"), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace"), dict(error.headers)


def signed_in(base: str, email: str, password: str) -> Browser:
    """A browser signed in as ``email`` through the real sign-in form (CSRF included)."""
    browser = Browser()
    status, html, _ = get(f"{base}/accounts/login/", browser)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    data = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": email, "password": password}).encode()
    status, body, _headers = get(
        f"{base}/accounts/login/", browser, data=data, headers={"Referer": f"{base}/accounts/login/"}
    )
    assert status == 302 and "sessionid" in browser.cookies, f"sign-in failed: {status} {body[:500]}"
    return browser
