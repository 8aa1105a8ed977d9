"""Datastore shapes: Azure ML's kinds plus s3, gcs and local folders.

Credential secrets are ``SecretStr``: they dump as a mask, so a datastore printed by
``show`` or ``list`` or sent in an API body never carries its key. The services move
the real values into the workspace secret store on create.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    Discriminator,
    Field,
    SecretStr,
    Tag,
    TypeAdapter,
    field_validator,
    model_validator,
)

from orchard.entities.assets import LowerCase, SnakeCase, type_tag
from orchard.entities.base import Entity, Resource

SCHEMA_ROOT = "https://azuremlschemas.azureedge.net/latest"
SECRET_MASK = "**********"
DATASTORE_NAME_PATTERN = r"^[a-z0-9_]{1,255}$"


class AccountKeyConfiguration(Entity):
    account_key: SecretStr


class SasTokenConfiguration(Entity):
    sas_token: SecretStr


class _TenantCredential(Entity):
    """Fields every Entra ID (service principal or certificate) credential has."""

    tenant_id: str
    client_id: str
    authority_url: str | None = None
    resource_url: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _accept_authority_uri(cls, value: Any) -> Any:
        # Older Azure specs spell it `authority_uri`; Azure still takes either, not both.
        if isinstance(value, dict) and "authority_uri" in value:
            if "authority_url" in value:
                raise ValueError("give authority_url or authority_uri, not both")
            value = {**value, "authority_url": value["authority_uri"]}
            value.pop("authority_uri")
        return value


class ServicePrincipalConfiguration(_TenantCredential):
    client_secret: SecretStr


class CertificateConfiguration(_TenantCredential):
    thumbprint: str
    # Azure takes a certificate by thumbprint alone (one already known to the service).
    certificate: SecretStr | None = None


class S3KeyConfiguration(Entity):
    access_key_id: str
    secret_access_key: SecretStr
    session_token: SecretStr | None = None


class GcsServiceAccountConfiguration(Entity):
    # The service account key file's JSON text.
    service_account_key: SecretStr


# Azure's YAML gives credentials no type; the keys present say which kind they are.
_CREDENTIAL_KEYS: tuple[tuple[str, type[Entity]], ...] = (
    ("account_key", AccountKeyConfiguration),
    ("sas_token", SasTokenConfiguration),
    ("certificate", CertificateConfiguration),
    ("thumbprint", CertificateConfiguration),
    ("client_secret", ServicePrincipalConfiguration),
    ("secret_access_key", S3KeyConfiguration),
    ("access_key_id", S3KeyConfiguration),
    ("service_account_key", GcsServiceAccountConfiguration),
    ("tenant_id", ServicePrincipalConfiguration),
)


def _credential_kind(value: Any) -> str | None:
    if isinstance(value, Entity):
        return type(value).__name__
    if isinstance(value, dict):
        for key, cls in _CREDENTIAL_KEYS:
            if key in value:
                return cls.__name__
    return None


Credentials = Annotated[
    Annotated[AccountKeyConfiguration, Tag("AccountKeyConfiguration")]
    | Annotated[SasTokenConfiguration, Tag("SasTokenConfiguration")]
    | Annotated[ServicePrincipalConfiguration, Tag("ServicePrincipalConfiguration")]
    | Annotated[CertificateConfiguration, Tag("CertificateConfiguration")]
    | Annotated[S3KeyConfiguration, Tag("S3KeyConfiguration")]
    | Annotated[GcsServiceAccountConfiguration, Tag("GcsServiceAccountConfiguration")],
    Discriminator(
        _credential_kind,
        custom_error_type="credentials_kind",
        custom_error_message=(
            "credentials need one of account_key, sas_token, "
            "tenant_id/client_id/client_secret, tenant_id/client_id/thumbprint, "
            "access_key_id/secret_access_key or service_account_key"
        ),
    ),
]


class DatastoreBase(Resource):
    kind: ClassVar[str] = "datastore"
    schema_url: ClassVar[str] = ""

    name: str = Field(pattern=DATASTORE_NAME_PATTERN)
    # None (or `{}`, Azure's NoneCredentialConfiguration): identity-based access.
    credentials: Credentials | None = None
    is_default: bool = False

    @field_validator("credentials", mode="before")
    @classmethod
    def _empty_is_identity(cls, value: Any) -> Any:
        return None if value == {} else value

    @property
    def identity_based(self) -> bool:
        return self.credentials is None

    def secret_values(self) -> dict[str, Any] | None:
        """The credentials with their secrets in clear, for the secret store only."""
        if self.credentials is None:
            return None
        return {
            key: value.get_secret_value() if isinstance(value, SecretStr) else value
            for key, value in self.credentials
            if value is not None
        }


class AzureBlobDatastore(DatastoreBase):
    schema_url: ClassVar[str] = f"{SCHEMA_ROOT}/azureBlob.schema.json"
    type: Annotated[Literal["azure_blob"], SnakeCase] = "azure_blob"
    account_name: str
    container_name: str
    endpoint: str = "core.windows.net"
    protocol: Annotated[Literal["https", "wasbs"], LowerCase] = "https"
    service_data_access_auth_identity: str | None = None


class AzureDataLakeGen2Datastore(DatastoreBase):
    schema_url: ClassVar[str] = f"{SCHEMA_ROOT}/azureDataLakeGen2.schema.json"
    type: Annotated[Literal["azure_data_lake_gen2"], SnakeCase] = "azure_data_lake_gen2"
    account_name: str
    filesystem: str
    endpoint: str = "core.windows.net"
    protocol: Annotated[Literal["https", "abfss"], LowerCase] = "https"


class AzureDataLakeGen1Datastore(DatastoreBase):
    schema_url: ClassVar[str] = f"{SCHEMA_ROOT}/azureDataLakeGen1.schema.json"
    type: Annotated[Literal["azure_data_lake_gen1"], SnakeCase] = "azure_data_lake_gen1"
    store_name: str


class AzureFileDatastore(DatastoreBase):
    schema_url: ClassVar[str] = f"{SCHEMA_ROOT}/azureFile.schema.json"
    type: Annotated[Literal["azure_file"], SnakeCase] = "azure_file"
    account_name: str
    file_share_name: str
    endpoint: str = "core.windows.net"
    protocol: Annotated[Literal["https"], LowerCase] = "https"


class OneLakeArtifact(Entity):
    # A Fabric item in the OneLake workspace; Azure supports lakehouses only.
    name: str
    type: Annotated[Literal["lake_house"], SnakeCase] = "lake_house"


class OneLakeDatastore(DatastoreBase):
    """A Microsoft Fabric OneLake lakehouse (Azure: service principal or identity)."""

    type: Annotated[Literal["one_lake"], SnakeCase] = "one_lake"
    one_lake_workspace_name: str
    # e.g. onelake.dfs.fabric.microsoft.com
    endpoint: str
    artifact: OneLakeArtifact


class S3Datastore(DatastoreBase):
    type: Literal["s3"] = "s3"
    bucket: str
    prefix: str | None = None
    endpoint_url: str | None = None
    region: str | None = None


class GcsDatastore(DatastoreBase):
    type: Literal["gcs"] = "gcs"
    bucket: str
    prefix: str | None = None
    project: str | None = None


class LocalDatastore(DatastoreBase):
    type: Literal["local"] = "local"
    # An absolute folder; a spec's relative path is resolved against the spec's folder.
    path: str
    local_path_fields: ClassVar[tuple[str, ...]] = ("path",)


def _datastore_kind(value: Any) -> str | None:
    cls = DATASTORE_TYPES.get(type_tag(value) or "")
    return cls.__name__ if cls else None


# Tagged by class name, found from the snake_case `type` (`AzureBlob` is `azure_blob`).
Datastore = Annotated[
    Annotated[AzureBlobDatastore, Tag("AzureBlobDatastore")]
    | Annotated[AzureDataLakeGen2Datastore, Tag("AzureDataLakeGen2Datastore")]
    | Annotated[AzureDataLakeGen1Datastore, Tag("AzureDataLakeGen1Datastore")]
    | Annotated[AzureFileDatastore, Tag("AzureFileDatastore")]
    | Annotated[OneLakeDatastore, Tag("OneLakeDatastore")]
    | Annotated[S3Datastore, Tag("S3Datastore")]
    | Annotated[GcsDatastore, Tag("GcsDatastore")]
    | Annotated[LocalDatastore, Tag("LocalDatastore")],
    Discriminator(_datastore_kind),
]
DATASTORE_TYPES: dict[str, type[DatastoreBase]] = {
    "azure_blob": AzureBlobDatastore,
    "azure_data_lake_gen2": AzureDataLakeGen2Datastore,
    "azure_data_lake_gen1": AzureDataLakeGen1Datastore,
    "azure_file": AzureFileDatastore,
    "one_lake": OneLakeDatastore,
    "s3": S3Datastore,
    "gcs": GcsDatastore,
    "local": LocalDatastore,
}
datastore_adapter: TypeAdapter[Datastore] = TypeAdapter(Datastore)
