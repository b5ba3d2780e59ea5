"""Settings of the real ``rqworker`` subprocesses that ``manage.py simulate`` starts and
SIGKILLs: the production settings module with the simulation's small provider pages, so a
kill lands in the middle of a build rather than after it. Database, Redis and the fake
provider come in through the usual environment variables."""

import os

from solosales.settings import *  # noqa: F403

PIPELINE_PAGE_SIZE = int(os.environ.get("SIM_PAGE_SIZE", "10"))
PROVIDER_READ_TIMEOUT = float(os.environ.get("SIM_READ_TIMEOUT", "0.3"))
ROCKETREACH_PER_SECOND = 1000
ROCKETREACH_PER_MINUTE = 100_000
