"""Azure ML's published example specs load without a single unknown-field warning.

The fixtures under ``azure_specs/<kind>/`` follow the specs of the Azure/azureml-examples
repository (``cli/assets/*``, ``cli/resources/*``) field for field, with a few more that
use the rest of Azure's schema. Each loads in strict mode with warnings as errors, keeps
the values it was given, and survives a dump with ``to_spec()`` and a reload.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

from orchard.entities.base import Resource
from orchard.entities.compute import AmlCompute
from orchard.entities.datastores import DatastoreBase
from orchard.entities.loaders import (
    load_compute,
    load_data,
    load_datastore,
    load_environment,
    load_model,
    load_workspace,
)
from orchard.entities.spec import UnknownFieldWarning
from orchard.errors import SpecError

SPECS = Path(__file__).parent / "azure_specs"
LOADERS: dict[str, Callable[..., Resource]] = {
    "data": load_data,
    "model": load_model,
    "environment": load_environment,
    "datastore": load_datastore,
    "compute": load_compute,
    "workspace": load_workspace,
}
AttrPath = str | tuple[str, ...]
SAS_TOKEN = (
    "?xx=XXXX-XX-XX&xx=xxxx&xxx=xxx&xx=xxxxxxxxxxx&xx=XXXX-XX-XXXXX:XX:XXX&"
    "xx=XXXX-XX-XXXXX:XX:XXX&xxx=xxxxx&xxx=XXxXXXxxxxxXXXXXXXxXxxxXXXXXxxXXXXXxXXXXxXXXxXXxXX"
)
UAI = (
    "/subscriptions/<SUBSCRIPTION_ID>/resourceGroups/<RESOURCE_GROUP>/providers/"
    "Microsoft.ManagedIdentity/userAssignedIdentities/<UAI NAME 1>"
)


def local(relative: str) -> str:
    """The absolute path a spec's relative local path resolves to."""
    return str((SPECS / relative).resolve())


# For each fixture: dotted attribute paths (list items by index) and the values they hold.
EXPECTED: dict[str, dict[AttrPath, Any]] = {
    "data/local-file.yml": {
        "type": "uri_file",
        "path": local("data/sample-data/titanic.csv"),
    },
    "data/local-folder.yml": {"type": "uri_folder", "path": local("data/sample-data")},
    "data/local-mltable.yml": {"type": "mltable", "path": local("data/local-mltable")},
    "data/parent-folder-file.yml": {
        "path": local("shared/sample-data/iris.csv"),
        "version": "1",
        "tags": {"source": "fixture", "rows": "2"},
    },
    "data/cloud-file-wasbs.yml": {
        "type": "uri_file",
        "path": "wasbs://account-name.blob.core.windows.net/container-name/example-data/titanic.csv",
    },
    "data/cloud-folder.yml": {
        "type": "uri_folder",
        "path": "azureml://datastores/workspaceblobstore/paths/example-data/",
    },
    "data/cloud-mltable.yml": {"type": "mltable", "description": "Titanic data"},
    "data/public-file-https.yml": {
        "path": "https://azuremlexamples.blob.core.windows.net/datasets/titanic.csv",
    },
    "data/versioned-with-auto-delete.yml": {
        "version": "2",
        "properties": {"rows": "891"},
        "auto_delete_setting.condition": "created_greater_than",
        "auto_delete_setting.value": "30d",
    },
    "model/local-mlflow.yml": {"type": "mlflow_model", "path": local("model/mlflow-model")},
    "model/local-file.yml": {
        "type": "custom_model",
        "path": local("model/mlflow-model/model.pkl"),
    },
    "model/triton-model.yml": {
        "type": "triton_model",
        "version": "1",
        "path": local("model/models"),
    },
    "model/run-model.yml": {
        "stage": "Development",
        "properties": {"accuracy": "0.96"},
        "flavors": {
            "python_function": {"loader_module": "mlflow.sklearn", "python_version": "3.8.5"},
            "sklearn": {"sklearn_version": "0.24.2"},
        },
    },
    "model/cloud-custom-model.yml": {
        "type": "custom_model",
        "system_metadata": {"source": "fixture"},
        "default_deployment_template.asset_id": (
            "azureml://registries/azureml/deploymenttemplates/sklearn-default/versions/1"
        ),
    },
    "environment/docker-image.yml": {"image": "pytorch/pytorch:latest", "version": "1"},
    "environment/docker-image-plus-conda.yml": {
        "image": "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04",
        "conda_file.name": "pydata-example",
        "conda_file.channels": ["conda-forge"],
    },
    "environment/docker-context.yml": {
        # Relative to the spec's folder, resolved at load time like every local path.
        "build.path": str(SPECS / "environment" / "docker-contexts" / "python-and-pip"),
        "build.dockerfile_path": "Dockerfile",
        "image": None,
    },
    "environment/triton-inference.yml": {
        "os_type": "linux",
        "inference_config.liveness_route.path": "/v2/health/live",
        "inference_config.scoring_route.port": 8000,
    },
    "datastore/blob.yml": {
        "type": "azure_blob",
        "container_name": "data-container",
        "credentials.account_key": (
            "XXXxxxXXXxXXXXxxXXXXXxXXXXXxXxxXxXXXxXXXxXXxxxXXxxXXXxXxXXXxxXxxXXXXxxxxxXXxxxxxxXXXxXXX"
        ),
        "identity_based": False,
    },
    "datastore/blob-sas.yml": {"credentials.sas_token": SAS_TOKEN, "type": "azure_blob"},
    "datastore/blob-protocol.yml": {"protocol": "wasbs", "endpoint": "core.windows.net"},
    "datastore/blob-credless.yml": {"identity_based": True, "account_name": "mytestblobstore"},
    "datastore/blob-sovereign-cloud.yml": {
        "identity_based": True,
        "endpoint": "core.chinacloudapi.cn",
    },
    "datastore/adls-gen1.yml": {
        "store_name": "mytestdatalakegen1",
        "credentials.client_secret": "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    },
    "datastore/adls-gen1-credless.yml": {
        "type": "azure_data_lake_gen1",
        "identity_based": True,
    },
    "datastore/adls-gen2.yml": {
        "filesystem": "my-gen2-container",
        "credentials.tenant_id": "XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX",
    },
    "datastore/adls-gen2-certificate.yml": {
        "protocol": "abfss",
        "credentials.thumbprint": "0123456789ABCDEF0123456789ABCDEF01234567",
        "credentials.certificate": "MIIC-stand-in-certificate-text",
        "credentials.resource_url": "https://storage.azure.com/",
    },
    "datastore/adls-gen2-credless.yml": {"identity_based": True, "protocol": "https"},
    "datastore/file.yml": {"type": "azure_file", "file_share_name": "my-share"},
    "datastore/file-sas.yml": {"credentials.sas_token": SAS_TOKEN, "type": "azure_file"},
    "datastore/onelake-lh-credless.yml": {
        "type": "one_lake",
        "one_lake_workspace_name": "AzureML_Sample_OneLakeWS",
        "artifact.type": "lake_house",
        "artifact.name": "AzML_Sample_LH",
        "identity_based": True,
    },
    "compute/cluster-basic.yml": {
        "size": "STANDARD_DS3_v2",
        "max_instances": 2,
        "idle_time_before_scale_down": 120,
    },
    "compute/cluster-low-priority.yml": {"tier": "low_priority"},
    "compute/cluster-location.yml": {"location": "westus"},
    "compute/cluster-ssh-password.yml": {
        "ssh_settings.admin_username": "example-user",
        "ssh_settings.admin_password": "example-password",
    },
    "compute/cluster-system-identity.yml": {"identity.type": "system_assigned"},
    "compute/cluster-user-identity.yml": {
        "identity.type": "user_assigned",
        "identity.user_assigned_identities.0.resource_id": "identity_resource_id",
    },
    "compute/cluster-vnet-dedicated.yml": {
        "tier": "dedicated",
        "min_instances": 1,
        "enable_node_public_ip": False,
        "network_settings.vnet_name": "my-vnet",
        "identity.type": "system_assigned,user_assigned",
    },
    "compute/instance-basic.yml": {"type": "computeinstance", "size": "STANDARD_DS3_v2"},
    "compute/instance-schedule.yml": {
        "schedules.compute_start_stop.0.action": "stop",
        "schedules.compute_start_stop.0.trigger.type": "cron",
        "schedules.compute_start_stop.0.trigger.expression": "0 18 * * *",
        "schedules.compute_start_stop.0.trigger.time_zone": "Pacific Standard Time",
    },
    "compute/instance-recurrence-schedule.yml": {
        "idle_time_before_shutdown_minutes": 60,
        "schedules.compute_start_stop.0.trigger.frequency": "week",
        "schedules.compute_start_stop.0.trigger.start_time": "2023-01-02T08:00:00",
        "schedules.compute_start_stop.0.trigger.schedule.week_days.4": "friday",
        "schedules.compute_start_stop.1.state": "disabled",
    },
    "compute/instance-setup-scripts.yml": {
        "setup_scripts.creation_script.timeout_minutes": 15,
        "setup_scripts.startup_script.command": 'echo "instance started"',
        "custom_applications.0.endpoints.0.published": 8788,
        "create_on_behalf_of.user_object_id": "XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX",
        "enable_root_access": False,
        "idle_time_before_shutdown": "PT30M",
    },
    "compute/instance-user-mi.yml": {"identity.type": "user_assigned"},
    "compute/kubernetes.yml": {
        "namespace": "azureml-workloads",
        "properties.instanceTypes.defaultinstancetype.resources.limits.memory": "8Gi",
        "identity.type": "system_assigned",
    },
    "compute/vm-attach.yml": {"type": "virtualmachine", "ssh_settings.ssh_port": 22},
    "compute/attached-spark-user-identity.yml": {
        "type": "synapsespark",
        "name": "mysparkcompute",
        "identity.user_assigned_identities.0.resource_id": (
            "/subscriptions/<SUBSCRIPTION_ID>/resourceGroups/<RESOURCE_GROUP>/providers/"
            "Microsoft.ManagedIdentity/userAssignedIdentities/<AML_USER_MANAGED_ID>"
        ),
    },
    "workspace/basic.yml": {"location": "eastus", "hbi_workspace": False},
    "workspace/hbi.yml": {"hbi_workspace": True, "tags": {"purpose": "demonstration"}},
    "workspace/cmk.yml": {
        "customer_managed_key.key_uri": (
            "https://<KEY_VAULT>.vault.azure.net/keys/<KEY_NAME>/<KEY_VERSION>"
        ),
        "display_name": "Customer managed key encryption-example",
    },
    "workspace/uai.yml": {
        "identity.type": "user_assigned",
        ("identity", "user_assigned_identities", UAI, "client_id"): "<CLIENT_ID1>",
        "primary_user_assigned_identity": UAI,
    },
    "workspace/mvnet-allow-only-approved-outbound.yml": {
        "managed_network.isolation_mode": "allow_only_approved_outbound",
        "managed_network.outbound_rules.0.destination.port_ranges": "80, 8080",
        "managed_network.outbound_rules.1.destination.spark_enabled": True,
        "managed_network.outbound_rules.2.destination": "test2.com",
    },
    "workspace/mvnet-allow-internet-outbound.yml": {
        "managed_network.isolation_mode": "allow_internet_outbound",
        "managed_network.outbound_rules.1.type": "private_endpoint",
        "managed_network.outbound_rules.1.destination.subresource_target": "file",
    },
    "workspace/privatelink.yml": {
        "public_network_access": "Disabled",
        "image_build_compute": "cpu-compute",
    },
    "workspace/private-endpoint.yml": {
        "private_endpoints.approval_type": "AutoApproval",
        "private_endpoints.connections.my-endpoint.subnet_name": "<YOUR_SUBNET_NAME>",
    },
    "workspace/with-existing-resources.yml": {
        "key_vault": (
            "/subscriptions/<YOUR_SUBSCRIPTION_ID>/resourceGroups/<YOUR_RESOURCE_GROUP>/"
            "providers/Microsoft.KeyVault/vaults/<YOUR_KEY_VAULT>"
        ),
    },
    "workspace/network-acls-serverless.yml": {
        "network_acls.default_action": "Deny",
        "network_acls.ip_rules.1.value": "198.51.100.7",
        "managed_network.firewall_sku": "basic",
        "serverless_compute.no_public_ip": True,
        "enable_data_isolation": True,
    },
}


def fixture_specs() -> list[str]:
    """Every spec under azure_specs/<kind>/ (support files sit in subfolders)."""
    return sorted(
        path.relative_to(SPECS).as_posix()
        for kind in LOADERS
        for path in (SPECS / kind).glob("*.yml")
    )


def load(relative: str, **kw: Any) -> Resource:
    kind = relative.split("/", 1)[0]
    return LOADERS[kind](SPECS / relative, **kw)


def attribute(entity: Any, path: AttrPath) -> Any:
    """The value at a dotted path (or a tuple of parts, for keys holding dots).

    A part is an attribute, a dict key or a list index; secrets come back in clear.
    """
    value = entity
    for part in path.split(".") if isinstance(path, str) else path:
        if isinstance(value, BaseModel):
            value = getattr(value, part)
        elif isinstance(value, dict):
            value = value[part]
        else:
            value = value[int(part)]
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def test_there_are_fixtures_for_every_kind_and_every_fixture_is_checked() -> None:
    specs = fixture_specs()
    assert len(specs) >= 25
    assert {spec.split("/")[0] for spec in specs} == set(LOADERS)
    assert set(specs) == set(EXPECTED), "every fixture needs expected values, and vice versa"


@pytest.mark.parametrize("relative", fixture_specs())
def test_published_spec_loads_strictly_without_warnings(relative: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any unknown-field warning fails the test
        entity = load(relative, strict=True)
    for dotted, expected in EXPECTED[relative].items():
        assert attribute(entity, dotted) == expected, f"{relative}: {dotted}"


@pytest.mark.parametrize("relative", fixture_specs())
def test_published_spec_round_trips_through_to_spec(relative: str) -> None:
    kind = relative.split("/", 1)[0]
    entity = load(relative, strict=True)
    spec = entity.to_spec()
    if isinstance(entity, DatastoreBase) and entity.credentials is not None:
        # to_spec masks secrets by design; the secret store gives them back on create.
        spec["credentials"] = entity.secret_values()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = LOADERS[kind](spec, strict=True)
    # to_spec writes the canonical `$schema` line, whatever the file said.
    assert again.model_copy(update={"schema_": entity.schema_}) == entity
    assert again.to_spec() == entity.to_spec()


def test_azure_casing_of_enum_values_is_accepted_and_normalised() -> None:
    compute = load_compute(
        {
            "name": "cased-cluster",
            "type": "AmlCompute",
            "tier": "LowPriority",
            "identity": {"type": "SystemAssigned, UserAssigned"},
        },
        strict=True,
    )
    assert isinstance(compute, AmlCompute)
    assert (compute.type, compute.tier) == ("amlcompute", "low_priority")
    assert compute.identity is not None
    assert compute.identity.type == "system_assigned,user_assigned"
    workspace = load_workspace(
        {
            "name": "cased-ws",
            "public_network_access": "disabled",
            "managed_network": {
                "isolation_mode": "AllowOnlyApprovedOutbound",
                "outbound_rules": [{"name": "r", "type": "FQDN", "destination": "pypi.org"}],
            },
        },
        strict=True,
    )
    assert workspace.public_network_access == "Disabled"
    assert workspace.managed_network is not None
    assert workspace.managed_network.isolation_mode == "allow_only_approved_outbound"
    assert workspace.managed_network.outbound_rules is not None
    assert workspace.managed_network.outbound_rules[0].type == "fqdn"
    model = load_model({"name": "m", "type": "MLFlow_Model", "path": "azureml://x"}, strict=True)
    assert model.type == "mlflow_model"


def test_misspelt_field_warns_with_a_hint_and_strict_refuses_it(tmp_path: Path) -> None:
    spec = tmp_path / "cluster.yml"
    spec.write_text(
        "name: cpu-cluster\ntype: amlcompute\nmax_instance: 4\n"
        "ssh_settings:\n  admin_usrname: azureuser\n"
    )
    with pytest.warns(UnknownFieldWarning) as caught:
        compute = load_compute(spec)
    messages = [str(w.message) for w in caught]
    assert any(
        "cluster.yml: unknown field 'max_instance'; did you mean 'max_instances'?" in m
        for m in messages
    )
    assert any(
        "unknown field 'ssh_settings.admin_usrname'; did you mean 'admin_username'?" in m
        for m in messages
    )
    assert compute.name == "cpu-cluster"
    with pytest.raises(SpecError, match=r"unknown field 'max_instance'; did you mean") as refused:
        load_compute(spec, strict=True)
    assert "cluster.yml" in str(refused.value) and "strict mode" in str(refused.value)


def test_misspelt_field_inside_a_schedule_trigger_is_named_by_its_path(tmp_path: Path) -> None:
    spec = tmp_path / "ci.yml"
    spec.write_text(
        "name: ci-1\ntype: computeinstance\nschedules:\n  compute_start_stop:\n"
        "    - action: stop\n      trigger:\n        type: cron\n        expresion: 0 18 * * *\n"
    )
    with pytest.raises(SpecError) as refused:
        load_compute(spec, strict=True)
    message = str(refused.value)
    assert "schedules.compute_start_stop[0].trigger.expresion" in message
    assert "did you mean 'expression'?" in message


@pytest.mark.parametrize(
    ("kind", "body", "field", "value"),
    [
        ("compute", "name: c1\ntype: amlcompute\ntier: spot\n", "tier", "spot"),
        ("data", "name: d\ntype: uri_fil\npath: https://x/y.csv\n", "type", "uri_fil"),
        (
            "workspace",
            "name: ws1\nmanaged_network:\n  isolation_mode: open\n",
            "managed_network.isolation_mode",
            "open",
        ),
        (
            "datastore",
            "name: b\ntype: azure_blob\naccount_name: a\ncontainer_name: c\nprotocol: ftp\n",
            "protocol",
            "ftp",
        ),
    ],
)
def test_wrong_enum_value_names_the_field_and_the_file(
    tmp_path: Path, kind: str, body: str, field: str, value: str
) -> None:
    spec = tmp_path / f"bad-{kind}.yml"
    spec.write_text(body)
    for strict in (False, True):
        with pytest.raises(SpecError) as refused:
            LOADERS[kind](spec, strict=strict)
        message = str(refused.value)
        assert f"bad-{kind}.yml: field '{field}'" in message
        assert repr(value) in message
