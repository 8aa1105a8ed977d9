"""Jobs: submit, follow and finish command jobs."""

from orchard.services.jobs.resolve import Resolver
from orchard.services.jobs.service import JobService

__all__ = ["JobService", "Resolver"]
