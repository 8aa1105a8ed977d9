"""Checking a pipeline before anything runs, and writing down how each step will run.

Every binding is followed to what it names; a missing component, an unknown step, input
or output, an unbound required input, a type mismatch or a cycle fails the submit with a
message naming the step and the field. What survives is the plan: for each step, the job
that runs it (as a spec with its parent bindings filled in) and the upstream outputs still
to be filled in when it starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orchard.entities.components import ComponentBase, ParallelComponent
from orchard.entities.jobs import Input, Output
from orchard.entities.pipelines import (
    PipelineJob,
    StepBase,
    literal_type,
    parse_binding,
)
from orchard.errors import NotFound, ValidationError
from orchard.parallel.command import bound_input
from orchard.services.assets import AssetService
from orchard.services.pipelines.graph import check_acyclic
from orchard.services.pipelines.steps import (
    PARALLEL_INPUT_TYPES,
    child_spec,
)
from orchard.services.pipelines.types import LITERAL_TYPES, compatible, literal_problem

Steps = dict[str, StepBase]


@dataclass
class Interface:
    """What the pipeline offers its steps: its inputs' types and values, and its outputs."""

    input_types: dict[str, str]
    inputs: dict[str, Any]
    outputs: dict[str, Output | None]


@dataclass
class StepContext:
    pipeline: str
    job: PipelineJob


class Planner:
    def __init__(self, components: AssetService) -> None:
        self.components = components

    def plan(
        self, workspace: str, name: str, job: PipelineJob, outputs: dict[str, dict[str, Any]]
    ) -> dict[str, dict[str, Any]]:
        """Each step's plan, keyed by step name; raises ValidationError on the first problem.
        `outputs` are the pipeline's resolved outputs: a step bound to one writes there."""
        interface = Interface(
            input_types={k: _value_type(v) for k, v in job.inputs.items()},
            inputs=dict(job.inputs),
            outputs={
                k: Output(type=v["type"], path=v["uri"], mode=v["mode"]) for k, v in outputs.items()
            },
        )
        context = StepContext(name, job)
        components = {
            step: self.component(workspace, step, node) for step, node in job.jobs.items()
        }
        produced = {step: _output_types(c) for step, c in components.items()}
        plans = {
            step: self._plan_step(context, step, node, components[step], interface, produced)
            for step, node in job.jobs.items()
        }
        check_acyclic({step: plan["needs"] for step, plan in plans.items()})
        return plans

    def component(self, workspace: str, step: str, node: StepBase) -> ComponentBase:
        """The step's component: inline, or the registered version it names."""
        found = node.component_of()
        if isinstance(found, ComponentBase):
            return node.specialise(found)
        try:
            registered = self.components.resolve(workspace, found)
        except NotFound as missing:
            raise ValidationError(f"pipeline step {step!r}: component: {missing.message}") from None
        assert isinstance(registered, ComponentBase)
        if node.type != registered.type:
            raise ValidationError(
                f"pipeline step {step!r}: a {node.type} step cannot run {found!r}, a "
                f"{registered.type} component"
            )
        return node.specialise(registered)

    def _plan_step(
        self,
        context: StepContext,
        step: str,
        node: StepBase,
        component: ComponentBase,
        interface: Interface,
        upstream: dict[str, dict[str, str]],
    ) -> dict[str, Any]:
        where = f"pipeline step {step!r}"
        inputs: dict[str, Any] = {}
        from_steps: dict[str, dict[str, Any]] = {}
        inline = node.is_inline
        for input_name, value in node.inputs.items():
            declared = component.inputs.get(input_name)
            if declared is None and not inline:
                known = ", ".join(component.inputs) or "none"
                raise ValidationError(
                    f"{where}: input {input_name!r}: the component has no input of that name "
                    f"(it has {known})"
                )
            bound = self._bind_input(where, input_name, value, declared, interface, upstream)
            if bound is None:
                continue
            if bound[0] == "step":
                from_steps[input_name] = bound[1]
            else:
                inputs[input_name] = bound[1]
        _check_required(where, component, set(inputs) | set(from_steps))
        outputs, to_parent = self._bind_outputs(where, node, component, interface)
        data_type = None
        if isinstance(component, ParallelComponent):
            data_type = _read_parallel_input(where, component, inputs, from_steps)
        job = child_spec(
            pipeline=context.pipeline,
            experiment=context.job.experiment_name,
            step=step,
            node=node,
            component=component,
            inputs=inputs,
            outputs=outputs,
            compute=node.compute or context.job.settings.default_compute or context.job.compute,
            settings=context.job.settings,
            data_type=data_type,
        )
        return {
            "type": node.type,
            "job": job,
            "needs": sorted({b["step"] for b in from_steps.values()}),
            "deterministic": _deterministic(node, component),
            "from_steps": from_steps,
            "to_parent": to_parent,
        }

    def _bind_input(
        self,
        where: str,
        name: str,
        value: Any,
        declared: Input | None,
        interface: Interface,
        upstream: dict[str, dict[str, str]],
    ) -> tuple[str, Any] | None:
        """("value", an Input or literal for the step's job) or ("step", what to fill in
        when the upstream step is done); None for an optional input bound to nothing."""
        mode = value.mode if isinstance(value, Input) else None
        binding = parse_binding(value.path if isinstance(value, Input) else value)
        target = declared.type if declared is not None else None
        if binding is None:
            if declared is not None and not isinstance(value, Input):
                if declared.type not in LITERAL_TYPES:
                    return "value", Input(type=declared.type, path=str(value), mode=mode)
                problem = literal_problem(value, declared)
                if problem:
                    raise ValidationError(f"{where}: input {name!r}: {problem}")
            return "value", value
        if binding.scope == "outputs":
            raise ValidationError(
                f"{where}: input {name!r}: {binding} names a pipeline output; an input binds "
                "to parent.inputs.<name> or parent.jobs.<step>.outputs.<name>"
            )
        if binding.scope == "inputs":
            return self._bind_parent_input(where, name, binding.name, target, mode, interface)
        produced = upstream.get(binding.name)
        if produced is None:
            raise ValidationError(
                f"{where}: input {name!r}: {binding} names step {binding.name!r}, which the "
                f"pipeline does not have (it has {', '.join(upstream)})"
            )
        source = produced.get(binding.output or "")
        if source is None:
            raise ValidationError(
                f"{where}: input {name!r}: step {binding.name!r} has no output "
                f"{binding.output!r} (it has {', '.join(produced) or 'none'})"
            )
        _check_types(where, name, source, target, str(binding))
        kind = target or source
        return "step", {"step": binding.name, "output": binding.output, "type": kind, "mode": mode}

    def _bind_parent_input(
        self,
        where: str,
        name: str,
        parent: str,
        target: str | None,
        mode: str | None,
        interface: Interface,
    ) -> tuple[str, Any] | None:
        if parent not in interface.inputs:
            known = ", ".join(interface.inputs) or "none"
            raise ValidationError(
                f"{where}: input {name!r}: ${{{{parent.inputs.{parent}}}}}: the pipeline has "
                f"no input {parent!r} (it has {known})"
            )
        value = interface.inputs[parent]
        source = interface.input_types[parent]
        _check_types(where, name, source, target, f"${{{{parent.inputs.{parent}}}}}")
        if not isinstance(value, Input):
            return "value", value
        if value.is_literal:
            return None if value.default is None else ("value", value.default)
        if not value.path:
            return None  # an optional data input the pipeline was given nothing for
        return "value", value.model_copy(
            update={"type": target or value.type, "mode": mode or value.mode}
        )

    def _bind_outputs(
        self, where: str, node: StepBase, component: ComponentBase, interface: Interface
    ) -> tuple[dict[str, Any], dict[str, str]]:
        outputs: dict[str, Any] = {}
        to_parent: dict[str, str] = {}
        for name, declared in component.outputs.items():
            value = node.outputs.get(name)
            binding = parse_binding(value.path if isinstance(value, Output) else value)
            if binding is not None:
                if binding.scope != "outputs" or binding.name not in interface.outputs:
                    raise ValidationError(
                        f"{where}: output {name!r}: {binding} is not one of the pipeline's "
                        f"outputs ({', '.join(interface.outputs) or 'none'})"
                    )
                to_parent[name] = binding.name
                value = interface.outputs[binding.name]
            given = value if isinstance(value, Output) else Output()
            outputs[name] = given.model_copy(update={"type": declared.type}).model_dump(
                mode="json", exclude_none=True
            )
        unknown = sorted(set(node.outputs) - set(component.outputs))
        if unknown:
            raise ValidationError(
                f"{where}: output {unknown[0]!r}: the component has no output of that name "
                f"(it has {', '.join(component.outputs) or 'none'})"
            )
        return outputs, to_parent


def _check_types(where: str, name: str, source: str, target: str | None, what: str) -> None:
    if target is not None and not compatible(source, target):
        raise ValidationError(
            f"{where}: input {name!r} is of type {target} but {what} is of type {source}"
        )


def _check_required(where: str, component: ComponentBase, bound: set[str]) -> None:
    for name, declared in component.inputs.items():
        if name in bound or declared.optional or declared.default is not None:
            continue
        raise ValidationError(
            f"{where}: input {name!r} is required by the component and is not bound "
            "(give it a value or a ${{parent...}} binding)"
        )


def _value_type(value: Any) -> str:
    return value.type if isinstance(value, Input) else literal_type(value)


def _output_types(component: ComponentBase) -> dict[str, str]:
    return {name: output.type for name, output in component.outputs.items()}


def _deterministic(node: StepBase, component: ComponentBase) -> bool:
    given = getattr(node, "is_deterministic", None)
    return component.is_deterministic if given is None else bool(given)


def _read_parallel_input(
    where: str,
    component: ParallelComponent,
    inputs: dict[str, Any],
    from_steps: dict[str, dict[str, Any]],
) -> str:
    """The type of the data input that input_data names. The driver reads that input as
    local files, so `mode: direct` (Azure's PRS streams it) becomes a read in place."""
    name = bound_input(component.input_data)
    value = inputs.get(name) if name else None
    data_inputs = sorted(
        {*from_steps, *(n for n, v in inputs.items() if isinstance(v, Input) and not v.is_literal)}
    )
    if name in from_steps:
        bound = from_steps[name]
        if bound.get("mode") == "direct":
            bound["mode"] = None
        kind = str(bound["type"])
    elif isinstance(value, Input) and not value.is_literal and name is not None:
        if value.mode == "direct":
            inputs[name] = value.model_copy(update={"mode": None})
        kind = value.type
    else:
        raise ValidationError(
            f"{where}: input_data: {component.input_data!r} does not name a data input of "
            f"the step; give ${{{{inputs.<name>}}}} (its data inputs: "
            f"{', '.join(data_inputs) or 'none'})"
        )
    if kind not in PARALLEL_INPUT_TYPES:
        raise ValidationError(
            f"{where}: input_data: input {name!r} is of type {kind}; a parallel step reads "
            f"{', '.join(PARALLEL_INPUT_TYPES)}"
        )
    return kind
