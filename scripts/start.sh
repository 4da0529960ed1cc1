#!/usr/bin/env bash
# Sets everything up and starts the site on its embedded default (SQLite, tasks in-process)
# at http://127.0.0.1:8000 with the demo company and demo logins. Safe to run again: the demo is
# built only when the database has no customers, so recorded reasons and edits are kept.
# It runs like the product: DEBUG off, a secret key generated once for this clone
# (.local-secret-key), static files served by whitenoise, the site's own error pages.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=$(command -v python3.11 || command -v python3)
if ! "$PY" -c "import venv, ensurepip" >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q && $SUDO apt-get install -y -q python3-venv
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -r requirements.txt

BIND="${BIND:-127.0.0.1:8000}"
HOST="${BIND%:*}"
export DEBUG="${DEBUG:-false}"
# Plain http on this machine: no redirect to https, cookies not limited to https.
export HTTPS="${HTTPS:-false}"
if [ -z "${SECRET_KEY:-}" ]; then
  if [ ! -s .local-secret-key ]; then
    (umask 077 && .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(50))' > .local-secret-key)
  fi
  SECRET_KEY="$(cat .local-secret-key)"
  export SECRET_KEY
fi
if [ -z "${ALLOWED_HOSTS:-}" ]; then
  case "$HOST" in
    0.0.0.0|"[::]"|"") ALLOWED_HOSTS="*" ;;  # every interface: answer whatever name reaches it
    *) ALLOWED_HOSTS="127.0.0.1,localhost,[::1],$HOST" ;;
  esac
  export ALLOWED_HOSTS
fi

.venv/bin/python manage.py migrate --noinput
.venv/bin/python manage.py collectstatic --noinput -v 0
if ! .venv/bin/python manage.py demo_exists; then
  echo "Building the demo company (about a minute)..."
  .venv/bin/python manage.py seed_demo
fi
echo
echo "Retention Site: http://${BIND}  (sign in as admin@example.com / retention-demo; see README for the other logins)"
exec .venv/bin/python manage.py runserver "${BIND}"
