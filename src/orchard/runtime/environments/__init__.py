"""Environments: an Environment asset turned into an isolated Python venv a job runs in.

    resolved = resolve_environment(environment)   # what will be built, or a DockerPlan
    built = EnvironmentBuilder(cache_root).build(environment)
    subprocess.run([built.python, "train.py"], env={**os.environ, **built.env_vars()})

Modules, one job each: `conda` (conda files to pip requirements), `curated` (+ the data
file `curated.yaml`), `images` (Docker references, engine check), `interpreters` (finding
a Python), `resolve` (Environment -> ResolvedEnvironment), `index` (reading a package
index), `fallback` (the nearest installable release of a pin), `uvtool` (running uv, the
build log), `builder` (cached, locked builds), `containers` (images pulled or built for
environments that run under Docker, and the `docker run` of a job).
"""

from orchard.runtime.environments.builder import BuiltEnvironment, EnvironmentBuilder
from orchard.runtime.environments.curated import CURATED_TAG, resolve_curated
from orchard.runtime.environments.errors import EnvironmentBuildError, EnvironmentWarning
from orchard.runtime.environments.images import DockerPlan, classify_image, docker_available
from orchard.runtime.environments.resolve import ResolvedEnvironment, resolve_environment

__all__ = [
    "CURATED_TAG",
    "BuiltEnvironment",
    "DockerPlan",
    "EnvironmentBuildError",
    "EnvironmentBuilder",
    "EnvironmentWarning",
    "ResolvedEnvironment",
    "classify_image",
    "docker_available",
    "resolve_curated",
    "resolve_environment",
]
