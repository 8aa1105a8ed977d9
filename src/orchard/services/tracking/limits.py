"""MLflow's limits on what one request may log, with its error wording."""

from __future__ import annotations

import re
from collections.abc import Sequence

from orchard.entities.tracking import Metric, Param, Tag
from orchard.errors import ValidationError

MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_KEY_LENGTH = 250
_KEY = re.compile(r"^[/\w.\- :]*$")


def check_batch(metrics: Sequence[Metric], params: Sequence[Param], tags: Sequence[Tag]) -> None:
    if len(metrics) > MAX_METRICS_PER_BATCH:
        raise ValidationError(
            f"A batch logging request can contain at most {MAX_METRICS_PER_BATCH} metrics. "
            f"Got {len(metrics)} metrics."
        )
    for what, items in (("params", params), ("tags", tags)):
        if len(items) > MAX_PARAMS_TAGS_PER_BATCH:
            raise ValidationError(
                f"A batch logging request can contain at most {MAX_PARAMS_TAGS_PER_BATCH} "
                f"{what}. Got {len(items)} {what}."
            )
    if len(metrics) + len(params) + len(tags) > MAX_ENTITIES_PER_BATCH:
        raise ValidationError(
            f"A batch logging request can contain at most {MAX_ENTITIES_PER_BATCH} total "
            "metrics, params and tags."
        )
    seen: dict[str, str] = {}
    for param in params:
        check_key(param.key, "Param")
        if len(param.value) > MAX_PARAM_VALUE_LENGTH:
            raise ValidationError(
                f"Param value '{param.value[:100]}...' had length {len(param.value)}, which "
                f"exceeded length limit of {MAX_PARAM_VALUE_LENGTH}"
            )
        if param.key in seen and seen[param.key] != param.value:
            raise ValidationError(
                f"Duplicate parameter keys have been submitted: ['{param.key}']. Please ensure "
                "the request contains only one param value per param key."
            )
        seen[param.key] = param.value
    for tag in tags:
        check_key(tag.key, "Tag")
        if len(tag.value) > MAX_TAG_VALUE_LENGTH:
            raise ValidationError(
                f"Tag value '{tag.value[:100]}...' had length {len(tag.value)}, which exceeded "
                f"length limit of {MAX_TAG_VALUE_LENGTH}"
            )
    for key in {metric.key for metric in metrics}:  # a batch is mostly one key's steps
        check_key(key, "Metric")


def check_key(key: str, what: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH or not _KEY.match(key) or _bad_path(key):
        raise ValidationError(
            f"Invalid value \"{key}\" for parameter 'key' supplied: {what} name may only contain "
            "alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and "
            f"slashes (/), and be at most {MAX_KEY_LENGTH} characters."
        )


def _bad_path(key: str) -> bool:
    # A key becomes a path under the run's artifacts in some clients; keep it inside.
    parts = key.split("/")
    return key.startswith("/") or ".." in parts
