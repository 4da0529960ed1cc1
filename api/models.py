"""Personal API tokens: shown once at creation, stored as a SHA-256 hash, revocable at once.

A key reads ``rs_<prefix>_<secret>``; the prefix finds the row, the hash of the whole key proves it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, models, transaction
from django.utils import timezone

KEY_PREFIX = "rs_"
# Writing last_used_at on every request would turn every read into a write; once a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({KEY_PREFIX}{self.prefix}_…) of {self.user}"

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def issue(cls, user, name: str) -> tuple[ApiToken, str]:
        """Create a token and return it with its key, which is never stored and cannot be shown again."""
        for _ in range(5):
            prefix = secrets.token_hex(6)
            key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
            try:
                with transaction.atomic():
                    return cls.objects.create(user=user, name=name, prefix=prefix, key_hash=hash_key(key)), key
            except IntegrityError:  # a prefix collision: 48 random bits, practically never
                continue
        raise RuntimeError("Could not draw a unique token prefix.")

    @classmethod
    def find_active(cls, key: str) -> ApiToken | None:
        """The unrevoked token of an active user that this key proves, or None."""
        parts = key.split("_", 2) if key.startswith(KEY_PREFIX) else []
        if len(parts) != 3 or not parts[1] or not parts[2]:
            return None
        token = (
            cls.objects.select_related("user")
            .filter(prefix=parts[1][:16], revoked_at__isnull=True, user__is_active=True)
            .first()
        )
        if token is None or not hmac.compare_digest(token.key_hash, hash_key(key)):
            return None
        return token

    def touch(self) -> None:
        now = timezone.now()
        if self.last_used_at is None or now - self.last_used_at >= LAST_USED_RESOLUTION:
            # Inside a read request's transaction a concurrent touch may conflict: a stamp lost
            # that way is harmless, a failed request would not be.
            try:
                with transaction.atomic():
                    ApiToken.objects.filter(pk=self.pk).update(last_used_at=now)
            except DatabaseError:
                return
            self.last_used_at = now

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])
