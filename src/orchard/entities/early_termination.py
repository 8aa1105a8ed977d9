"""Early-termination policies of sweep jobs, in Azure ML v2's YAML shape.

Written under a sweep's ``early_termination`` key as ``{type: bandit, slack_factor: 0.1}``;
the class names are the azure-ai-ml SDK's (``azure.ai.ml.sweep``). Defaults follow the CLI v2
sweep YAML reference: ``evaluation_interval: 1`` and ``delay_evaluation: 0``. The SDK writes
``evaluation_interval: 0`` for "not set", so 0 is accepted and means every report. What each
policy decides lives in ``orchard.sweep.termination``; these are only the shapes and checks.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, TypeAdapter, model_validator

from orchard.entities.assets import SnakeCase, type_tag
from orchard.entities.base import Entity

POLICY_TYPES = ("bandit", "median_stopping", "truncation_selection")


class _Policy(Entity):
    """When a policy is applied: every `evaluation_interval`-th report, from `delay_evaluation`."""

    # Counted in reports of the primary metric: each logged value is one interval.
    evaluation_interval: int = Field(default=1, ge=0)
    delay_evaluation: int = Field(default=0, ge=0)


class BanditPolicy(_Policy):
    """Stop trials that fall outside a slack of the best trial at the same report."""

    type: Annotated[Literal["bandit"], SnakeCase] = "bandit"
    slack_factor: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    slack_amount: float | None = Field(default=None, gt=0, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _zero_is_unset(cls, data: Any) -> Any:
        # The SDK stores the slack it was not given as 0 and dumps both, so a spec written
        # back by Azure carries `slack_amount: 0.0` beside the slack_factor in use.
        if isinstance(data, dict):
            given = {k: data.get(k) for k in ("slack_factor", "slack_amount")}
            if all(v is not None for v in given.values()):
                zero = [k for k, v in given.items() if _is_zero(v)]
                if len(zero) == 1:
                    return {k: v for k, v in data.items() if k != zero[0]}
        return data

    @model_validator(mode="after")
    def _one_slack(self) -> BanditPolicy:
        if (self.slack_factor is None) == (self.slack_amount is None):
            raise ValueError(
                "a bandit policy takes exactly one of slack_factor or slack_amount "
                f"(got slack_factor={self.slack_factor}, slack_amount={self.slack_amount})"
            )
        return self


class MedianStoppingPolicy(_Policy):
    """Stop trials whose best value is worse than the median of the others' running averages."""

    type: Annotated[Literal["median_stopping"], SnakeCase] = "median_stopping"


class TruncationSelectionPolicy(_Policy):
    """Stop the trials ranked in the worst `truncation_percentage` percent at a report."""

    type: Annotated[Literal["truncation_selection"], SnakeCase] = "truncation_selection"
    truncation_percentage: int = Field(ge=1, le=99)
    # Rank only the trials still running (Azure's `exclude_finished_jobs`).
    exclude_finished_jobs: bool = False


def _is_zero(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == 0


def _policy_tag(value: Any) -> str | None:
    # Azure's REST and SDK spell the types `MedianStopping`; YAML spells `median_stopping`.
    tag = type_tag(value)
    return tag if tag in POLICY_TYPES else None


EarlyTerminationPolicy = Annotated[
    Annotated[BanditPolicy, Tag("bandit")]
    | Annotated[MedianStoppingPolicy, Tag("median_stopping")]
    | Annotated[TruncationSelectionPolicy, Tag("truncation_selection")],
    Discriminator(
        _policy_tag,
        custom_error_type="early_termination_type",
        custom_error_message=f"type must be one of {', '.join(POLICY_TYPES)}",
    ),
]
early_termination_adapter: TypeAdapter[EarlyTerminationPolicy] = TypeAdapter(EarlyTerminationPolicy)
