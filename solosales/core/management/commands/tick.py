import logging
import time

from django.core.management.base import BaseCommand

from solosales.core.jobs import enqueue_now
from solosales.core.periodic import tasks

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Enqueue the periodic tasks (sweeper, order closing, nurture) once, or every --interval seconds."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true")
        parser.add_argument("--interval", type=int, default=15)
        parser.add_argument("--inline", action="store_true", help="Run the tasks here instead of enqueueing them.")

    def handle(self, *args, **options):
        if options["interval"] < 1:
            self.stderr.write("--interval must be at least 1 second")
            raise SystemExit(2)
        last_run: dict[str, float] = {}
        while True:
            now = time.monotonic()
            for task in tasks():
                if now - last_run.get(task.name, -1e12) >= task.every_seconds:
                    last_run[task.name] = now
                    self.run_task(task, inline=options["inline"])
            if not options["loop"]:
                return
            time.sleep(options["interval"])

    def run_task(self, task, *, inline):
        try:
            if inline:
                task.func()
            else:
                enqueue_now(task.func, queue=task.queue)
        except Exception:
            log.exception("periodic task %s failed to start", task.name)
