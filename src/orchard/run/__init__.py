"""azureml.core's run API for scripts that run as Orchard jobs.

`from orchard.run import Run` reads like `from azureml.core.run import Run`:
`Run.get_context()` is the job's run inside a job, an offline run outside one.
Importing it loads httpx and nothing heavier; mlflow need not be installed.
"""

from orchard.run.experiment import Experiment
from orchard.run.models import RegisteredModel
from orchard.run.offline import OfflineRun
from orchard.run.run import Run

__all__ = ["Experiment", "OfflineRun", "RegisteredModel", "Run"]
