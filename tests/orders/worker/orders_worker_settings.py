"""Settings for the real ``rqworker`` subprocess of the kill test: the test's own database
and Redis database, no xdist/pytest involvement."""

import os

from solosales.settings import *  # noqa: F403
from solosales.settings import DATABASES

DATABASES["default"]["NAME"] = os.environ["WORKER_DB_NAME"]
PIPELINE_PAGE_SIZE = 50
