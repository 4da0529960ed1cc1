"""Rate limits per user and per anonymous address, read from settings on every request.

DRF's own classes copy the rates once at import; reading ``api_settings`` each time lets the
environment (and tests, through ``override_settings``) change them.
"""

from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class SettingsRateMixin:
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]


class AnonThrottle(SettingsRateMixin, AnonRateThrottle):
    pass


class UserThrottle(SettingsRateMixin, UserRateThrottle):
    pass
