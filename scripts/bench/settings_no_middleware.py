"""Calibration for `make bench`: Bazar's own settings with no middleware at all (no security headers, CORS, request
id or request log line, size limit). users/me served this way shows what authentication, the Redis round trip, the
serializer and Django + DRF cost without any middleware: the floor under the users/me row. Never for serving."""

from bazar.settings import *  # noqa: F403

MIDDLEWARE = []
