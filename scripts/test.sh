#!/usr/bin/env bash
# Runs every test against real PostgreSQL and Redis (and Debian's chromium for browser tests),
# installing and starting them first when they are missing or stopped. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"

need=()
command -v pg_ctlcluster >/dev/null || need+=(postgresql)
command -v redis-server >/dev/null || need+=(redis-server)
command -v /usr/bin/chromium >/dev/null || need+=(chromium)
command -v python3.11 >/dev/null || command -v python3 >/dev/null || need+=(python3 python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  echo "Installing: ${need[*]}"
  $SUDO apt-get update -q && $SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
fi
for _ in $(seq 1 60); do
  pg_isready -q -h 127.0.0.1 -p 5432 && redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break
  sleep 1
done
pg_isready -h 127.0.0.1 -p 5432
redis-cli -h 127.0.0.1 -p 6379 ping

# A login role that may create the test database (Django makes its own test_* database).
PGROLE="${PGROLE:-retention}"
psql_admin() {
  if [ "$(id -u)" -eq 0 ] && id postgres >/dev/null 2>&1; then runuser -u postgres -- psql -q "$@"; else psql -q -h 127.0.0.1 -U postgres "$@"; fi
}
psql_admin -d postgres -tc "SELECT 1 FROM pg_roles WHERE rolname='${PGROLE}'" | grep -q 1 \
  || psql_admin -d postgres -c "CREATE ROLE ${PGROLE} LOGIN SUPERUSER PASSWORD '${PGROLE}'"
psql_admin -d postgres -tc "SELECT 1 FROM pg_database WHERE datname='${PGROLE}'" | grep -q 1 \
  || psql_admin -d postgres -c "CREATE DATABASE ${PGROLE} OWNER ${PGROLE}"

PY=$(command -v python3.11 || command -v python3)
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt

# TEST_SLOT (0-9) lets several test runs share one machine: own test database, Redis db, queue.
SLOT="${TEST_SLOT:-0}"
export DATABASE_URL="${TEST_DATABASE_URL:-postgres://${PGROLE}:${PGROLE}@127.0.0.1:5432/${PGROLE}}"
export TEST_DB_NAME="test_retention_${SLOT}"
export REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379/$((5 + SLOT))}"
export CELERY_QUEUE="retention-test-${SLOT}"
export DJANGO_ALLOW_ASYNC_UNSAFE=true
mkdir -p artifacts

# The whole run (no arguments, as CI calls it) first passes the house's gates, any failing one
# fails the run: Django's checks, no model change without its migration, ruff's lint and format,
# mypy with the Django and DRF stubs (pyproject.toml). A run of chosen tests skips them.
if [ $# -eq 0 ]; then
  echo "Gates: manage.py check, makemigrations --check, ruff check, ruff format --check, mypy"
  .venv/bin/python manage.py check --fail-level WARNING
  .venv/bin/python manage.py makemigrations --check --dry-run
  .venv/bin/ruff check .
  .venv/bin/ruff format --check .
  .venv/bin/mypy
fi
exec .venv/bin/python -m pytest "$@"
