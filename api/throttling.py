"""Rate limits per user and per anonymous address, read from settings on every request.

DRF's own classes copy the rates once at import; reading ``api_settings`` each time lets the
environment (and tests, through ``override_settings``) change them.
"""

import logging

from redis.exceptions import RedisError
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

log = logging.getLogger(__name__)


class SettingsRateMixin:
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def allow_request(self, request, view):
        # The counters live in Redis: when it is down, serve unthrottled rather than refuse everyone.
        try:
            return super().allow_request(request, view)
        except (RedisError, OSError) as error:
            log.warning("API rate limit not checked, the cache is unreachable: %s", error)
            return True


class AnonThrottle(SettingsRateMixin, AnonRateThrottle):
    pass


class UserThrottle(SettingsRateMixin, UserRateThrottle):
    pass
