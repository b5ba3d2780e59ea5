"""Settings for the benchmark servers: the project's settings with a bench-only URLconf
(the real URLs plus the baseline no-op views of bench/urls.py)."""

from solosales.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
