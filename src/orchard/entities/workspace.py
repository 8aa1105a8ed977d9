"""The workspace: a named scope that holds every other asset."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Discriminator, Field, Tag

from orchard.entities.assets import SnakeCase, type_tag
from orchard.entities.base import Entity, Resource

WORKSPACE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_\-]{2,32}$"

RuleCategory = Literal["required", "recommended", "user_defined", "dependency"]


def _pascal_case(value: Any) -> Any:
    # Azure compares `public_network_access` after turning it to PascalCase.
    if isinstance(value, str):
        return "".join(word.capitalize() for word in value.replace("_", " ").split())
    return value


class CustomerManagedKey(Entity):
    """Encrypt workspace data with a key from the customer's own key vault."""

    key_vault: str | None = None
    key_uri: str | None = None
    # Bring-your-own resources for the encrypted data (ARM ids).
    cosmosdb_id: str | None = None
    storage_id: str | None = None
    search_id: str | None = None


class UserAssignedIdentity(Entity):
    principal_id: str | None = None
    client_id: str | None = None
    resource_id: str | None = None


class WorkspaceIdentity(Entity):
    type: Annotated[
        Literal["system_assigned", "user_assigned", "system_assigned,user_assigned", "none"],
        SnakeCase,
    ]
    principal_id: str | None = None
    tenant_id: str | None = None
    # Keyed by each identity's ARM id (a workspace's shape, unlike a compute's list).
    user_assigned_identities: dict[str, UserAssignedIdentity | None] | None = None


class ServiceTagDestination(Entity):
    service_tag: str
    protocol: str
    # e.g. "80, 8080" or "1-65535"
    port_ranges: str
    address_prefixes: list[str] | None = None


class PrivateEndpointDestination(Entity):
    service_resource_id: str
    subresource_target: str
    spark_enabled: bool


class _OutboundRule(Entity):
    name: str
    # Set by the service in a dumped spec; accepted back and ignored.
    category: Annotated[RuleCategory | None, SnakeCase] = None
    status: str | None = None
    parent_rule_names: list[str] | None = None


class FqdnOutboundRule(_OutboundRule):
    type: Annotated[Literal["fqdn"], SnakeCase] = "fqdn"
    destination: str


class ServiceTagOutboundRule(_OutboundRule):
    type: Annotated[Literal["service_tag"], SnakeCase] = "service_tag"
    destination: ServiceTagDestination


class PrivateEndpointOutboundRule(_OutboundRule):
    type: Annotated[Literal["private_endpoint"], SnakeCase] = "private_endpoint"
    destination: PrivateEndpointDestination
    fqdns: list[str] | None = None


# Union tags are class names: spec errors leave those out of a field's dotted path.
_RULES = {
    "fqdn": "FqdnOutboundRule",
    "service_tag": "ServiceTagOutboundRule",
    "private_endpoint": "PrivateEndpointOutboundRule",
}


def _rule_kind(value: Any) -> str | None:
    """A rule's kind from its `type`, or, as Azure does without one, from its destination."""
    tag = type_tag(value)
    if tag is None and isinstance(value, dict):
        destination = value.get("destination")
        if isinstance(destination, str):
            tag = "fqdn"
        elif isinstance(destination, dict) and "service_tag" in destination:
            tag = "service_tag"
        elif isinstance(destination, dict) and "service_resource_id" in destination:
            tag = "private_endpoint"
    return _RULES.get(tag or "")


OutboundRule = Annotated[
    Annotated[FqdnOutboundRule, Tag("FqdnOutboundRule")]
    | Annotated[ServiceTagOutboundRule, Tag("ServiceTagOutboundRule")]
    | Annotated[PrivateEndpointOutboundRule, Tag("PrivateEndpointOutboundRule")],
    Discriminator(
        _rule_kind,
        custom_error_type="outbound_rule_type",
        custom_error_message=(
            "an outbound rule's type must be fqdn, service_tag or private_endpoint"
        ),
    ),
]


class ManagedNetworkStatus(Entity):
    # Set by the service.
    spark_ready: bool | None = None
    status: str | None = None


class ManagedNetwork(Entity):
    """The workspace-managed virtual network and what it may reach."""

    isolation_mode: Annotated[
        Literal["disabled", "allow_internet_outbound", "allow_only_approved_outbound"],
        SnakeCase,
    ] = "disabled"
    outbound_rules: list[OutboundRule] | None = None
    # The firewall for FQDN rules in allow_only_approved_outbound mode.
    firewall_sku: Annotated[Literal["standard", "basic"] | None, SnakeCase] = None
    # Set by the service.
    network_id: str | None = None
    status: ManagedNetworkStatus | None = None


class IPRule(Entity):
    # An IPv4 address or CIDR range.
    value: str


class NetworkAcls(Entity):
    default_action: Annotated[Literal["Allow", "Deny"], BeforeValidator(_pascal_case)]
    ip_rules: list[IPRule] | None = None


class ServerlessComputeSettings(Entity):
    # The ARM id of a subnet for serverless jobs; the text "None" removes it.
    custom_subnet: str | None = None
    no_public_ip: bool = False


class EndpointConnection(Entity):
    subscription_id: str | None = None
    resource_group: str | None = None
    location: str | None = None
    vnet_name: str | None = None
    subnet_name: str | None = None


class PrivateEndpoint(Entity):
    """Private endpoints to create with the workspace (an older Azure spec field)."""

    approval_type: str | None = None
    connections: dict[str, EndpointConnection] | None = None


class Workspace(Resource):
    kind: ClassVar[str] = "workspace"
    schema_url: ClassVar[str] = "https://azuremlschemas.azureedge.net/latest/workspace.schema.json"

    name: str = Field(pattern=WORKSPACE_NAME_PATTERN)
    display_name: str | None = None
    location: str | None = None
    resource_group: str | None = None
    discovery_url: str | None = None
    hbi_workspace: bool | None = None
    # ARM ids of existing resources to use instead of creating new ones.
    storage_account: str | None = None
    key_vault: str | None = None
    container_registry: str | None = None
    application_insights: str | None = None
    customer_managed_key: CustomerManagedKey | None = None
    image_build_compute: str | None = None
    public_network_access: Annotated[
        Literal["Enabled", "Disabled"] | None, BeforeValidator(_pascal_case)
    ] = None
    network_acls: NetworkAcls | None = None
    # How the workspace's own datastores authenticate (Azure: accesskey or identity).
    system_datastores_auth_mode: str | None = None
    identity: WorkspaceIdentity | None = None
    primary_user_assigned_identity: str | None = None
    workspace_hub: str | None = None
    managed_network: ManagedNetwork | None = None
    provision_network_now: bool | None = None
    enable_data_isolation: bool | None = None
    allow_roleassignment_on_rg: bool | None = None
    serverless_compute: ServerlessComputeSettings | None = None
    private_endpoints: PrivateEndpoint | None = None
    # Set by the service in a dumped spec; accepted back and ignored.
    mlflow_tracking_uri: str | None = None
    # Where this workspace's default datastore keeps its files (read-only, set by the store).
    storage_root: str | None = None
