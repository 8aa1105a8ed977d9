"""Tracking: experiments, runs and what they log, with MLflow's semantics."""

from orchard.services.tracking.experiments import ExperimentService
from orchard.services.tracking.runs import RunService

__all__ = ["ExperimentService", "RunService"]
