"""Celery application: workers recompute retention snapshots (see metrics.tasks)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retention_site.settings")

app = Celery("retention_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
