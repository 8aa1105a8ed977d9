"""Datastores: built-ins, user datastores, credentials kept secret."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchard.entities import (
    AccountKeyConfiguration,
    AzureBlobDatastore,
    AzureDataLakeGen2Datastore,
    LocalDatastore,
    S3Datastore,
    S3KeyConfiguration,
    ServicePrincipalConfiguration,
)
from orchard.entities.datastores import SECRET_MASK
from orchard.errors import Conflict, NotFound, ValidationError
from orchard.sdk.client import MLClient

ACCOUNT_KEY = "c2VjcmV0LWFjY291bnQta2V5LXZhbHVl"


def test_workspace_starts_with_its_built_in_datastores(ml_client: MLClient) -> None:
    names = {d.name: d for d in ml_client.datastores.list()}
    assert set(names) == {"workspaceblobstore", "workspaceartifactstore"}
    assert ml_client.datastores.get_default().name == "workspaceblobstore"
    assert Path(names["workspaceblobstore"].path).is_dir()  # type: ignore[attr-defined]


def test_credentials_never_come_back(ml_client: MLClient) -> None:
    store = ml_client.datastores.create_or_update(
        AzureBlobDatastore(
            name="blob_keyed",
            account_name="acct",
            container_name="data",
            credentials=AccountKeyConfiguration(account_key=ACCOUNT_KEY),
        )
    )
    for shown in (store, ml_client.datastores.get("blob_keyed"), *ml_client.datastores.list()):
        dumped = json.dumps(shown.to_spec())
        assert ACCOUNT_KEY not in dumped
        assert ACCOUNT_KEY not in repr(shown)
    assert store.to_spec()["credentials"] == {"account_key": SECRET_MASK}


def test_credentials_are_encrypted_in_the_store(ml_client: MLClient, database_url: str) -> None:
    ml_client.datastores.create_or_update(
        S3Datastore(
            name="s3_data",
            bucket="b",
            credentials=S3KeyConfiguration(
                access_key_id="AKIAEXAMPLE", secret_access_key="very-secret-value"
            ),
        )
    )
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as connection:
        dumped = " ".join(str(row) for row in connection.execute(text("select * from resources")))
        secrets = [
            bytes(row[0]) for row in connection.execute(text("select ciphertext from secrets"))
        ]
    engine.dispose()
    assert "very-secret-value" not in dumped
    assert secrets and all(b"very-secret-value" not in blob for blob in secrets)


def test_masked_credentials_keep_the_stored_secret(ml_client: MLClient) -> None:
    ml_client.datastores.create_or_update(
        AzureDataLakeGen2Datastore(
            name="lake",
            account_name="acct",
            filesystem="fs",
            credentials=ServicePrincipalConfiguration(
                tenant_id="t", client_id="c", client_secret="s3cr3t"
            ),
        )
    )
    shown = ml_client.datastores.get("lake")
    updated = ml_client.datastores.create_or_update(
        shown.model_copy(update={"description": "now described"})
    )
    assert updated.description == "now described"
    with pytest.raises(ValidationError, match="masked placeholder"):
        ml_client.datastores.create_or_update(
            AzureBlobDatastore(
                name="fresh",
                account_name="a",
                container_name="c",
                credentials=AccountKeyConfiguration(account_key=SECRET_MASK),
            )
        )


def test_identity_based_datastore_stores_no_secret(ml_client: MLClient) -> None:
    store = ml_client.datastores.create_or_update(
        AzureBlobDatastore(name="by_identity", account_name="acct", container_name="c")
    )
    assert store.identity_based and store.credentials is None


def test_built_ins_cannot_be_replaced_or_deleted(ml_client: MLClient, tmp_path: Path) -> None:
    with pytest.raises(Conflict, match="built in"):
        ml_client.datastores.delete("workspaceblobstore")
    with pytest.raises(Conflict, match="built in"):
        ml_client.datastores.create_or_update(
            LocalDatastore(name="workspaceblobstore", path=str(tmp_path))
        )


def test_default_datastore_can_move(ml_client: MLClient, tmp_path: Path) -> None:
    ml_client.datastores.create_or_update(LocalDatastore(name="mine", path=str(tmp_path)))
    ml_client.datastores.set_default("mine")
    assert ml_client.datastores.get_default().name == "mine"
    with pytest.raises(Conflict, match="default"):
        ml_client.datastores.delete("mine")
    ml_client.datastores.set_default("workspaceblobstore")
    ml_client.datastores.delete("mine")
    with pytest.raises(NotFound):
        ml_client.datastores.get("mine")


def test_invalid_datastore_name() -> None:
    with pytest.raises(ValueError, match="name"):
        LocalDatastore(name="Has-Caps", path="/tmp")
