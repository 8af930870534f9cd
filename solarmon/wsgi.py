"""WSGI entry point."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "solarmon.settings")
application = get_wsgi_application()
# What starting made (Django, the apps and their modules) lives as long as the process. Frozen,
# it is left out of the collector's full passes, which stay short: no request stalls on one.
gc.freeze()
