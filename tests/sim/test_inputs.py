"""Query-string forms of operation inputs: derived from the input models, body-only ones take none."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from fleetupgrade.sim import inputs
from fleetupgrade.sim.inputs import QueryFields, query_fields


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (inputs.UpgradesListInput, {"supervisors": ("filter_spec", "list")}),
        (
            inputs.SummaryListInput,
            {"config_status": ("filter", "str"), "kubernetes_status": ("filter", "str")},
        ),
        (
            inputs.VersionsListInput,
            {
                "cluster_compute_resource": ("filter", "str"),
                "zones": ("filter", "list"),
                "network_provider": ("filter", "str"),
            },
        ),
        (
            inputs.CompatibilityInput,
            {"cluster": ("spec", "str"), "supervisor": ("spec", "str"), "zones": ("spec", "list")},
        ),
        (inputs.PrechecksGetInput, {"target_version": (None, "str")}),
        (
            inputs.TaskGetInput,
            {"return_all": ("spec", "bool"), "exclude_result": ("spec", "bool")},
        ),
        (
            inputs.TasksListInput,
            {
                "tasks": ("filter_spec", "list"),
                "services": ("filter_spec", "list"),
                "operations": ("filter_spec", "list"),
                "users": ("filter_spec", "list"),
                "status": ("filter_spec", "list"),
                "return_all": ("result_spec", "bool"),
                "exclude_result": ("result_spec", "bool"),
            },
        ),
    ],
)
def test_filters_flatten_into_the_query(model: type[BaseModel], expected: QueryFields) -> None:
    """Each filter input takes its scalar fields flat, under their structure; no targets."""
    assert query_fields(model) == expected


@pytest.mark.parametrize("model", [inputs.NoInput, inputs.CreateSpec, inputs.PrecheckSpec])
def test_body_only_inputs_take_no_query(model: type[BaseModel]) -> None:
    """Creates, precheck runs and parameterless operations accept no query parameter."""
    assert query_fields(model) == {}
