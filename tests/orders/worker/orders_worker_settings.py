"""Settings for the real ``rqworker`` subprocess of the kill test: the test's own database
and Redis database, no xdist/pytest involvement."""

import os

from solosales.settings import *  # noqa: F403
from solosales.settings import DATABASES

DATABASES["default"]["NAME"] = os.environ["WORKER_DB_NAME"]
PIPELINE_PAGE_SIZE = 50
# The kill test against the fake RocketReach: no client-side rate limit in the way.
ROCKETREACH_PER_SECOND = int(os.environ.get("WORKER_ROCKETREACH_PER_SECOND", "10"))
ROCKETREACH_PER_MINUTE = int(os.environ.get("WORKER_ROCKETREACH_PER_MINUTE", "600"))
if "WORKER_PAGE_SIZE" in os.environ:
    PIPELINE_PAGE_SIZE = int(os.environ["WORKER_PAGE_SIZE"])
