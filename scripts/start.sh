#!/usr/bin/env bash
# Sets everything up and starts the site on its embedded default (SQLite, tasks in-process)
# at http://127.0.0.1:8000 with the demo company and demo logins. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=$(command -v python3.11 || command -v python3)
if ! "$PY" -c "import venv, ensurepip" >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q && $SUDO apt-get install -y -q python3-venv
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -r requirements.txt

.venv/bin/python manage.py migrate --noinput
if [ "$(.venv/bin/python manage.py shell -c 'from metrics.models import Customer; print(Customer.objects.exists())')" != "True" ]; then
  echo "Building the demo company (about a minute)..."
  .venv/bin/python manage.py seed_demo
fi
echo
echo "Retention Site: http://${BIND:-127.0.0.1:8000}  (sign in as admin@example.com / retention-demo; see README for the other logins)"
exec .venv/bin/python manage.py runserver "${BIND:-127.0.0.1:8000}"
