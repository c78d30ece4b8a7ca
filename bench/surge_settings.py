"""Settings of bench/survey_surge.py: the production settings, with a URLconf that
adds one bare view (bench/surge_urls.py), so config/urls.py stays as it ships.

    DJANGO_SETTINGS_MODULE=bench.surge_settings   (the bench sets it for gunicorn)
"""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.surge_urls"
