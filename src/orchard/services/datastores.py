"""Datastores: where data lives. Credentials go to the secret store, never the spec."""

from __future__ import annotations

import json
from pathlib import Path

from orchard.entities.datastores import SECRET_MASK, DatastoreBase, LocalDatastore
from orchard.errors import Conflict, NotFound, ValidationError
from orchard.services.context import Context
from orchard.services.secrets import SecretService
from orchard.services.workspaces import ARTIFACT_STORE, BLOB_STORE
from orchard.storage.filesystems import DatastoreFiles, open_datastore
from orchard.storage.paths import safe_join
from orchard.storage.uris import parse_datastore_uri
from orchard.store import Transaction

BUILT_IN = (BLOB_STORE, ARTIFACT_STORE)
KIND = "datastore"


def credential_secret_name(datastore: str) -> str:
    return f"datastores/{datastore}/credentials"


class DatastoreService:
    def __init__(self, context: Context, secrets: SecretService) -> None:
        self.context = context
        self.secrets = secrets

    def create_or_update(self, workspace: str, datastore: DatastoreBase) -> DatastoreBase:
        if datastore.name in BUILT_IN:
            raise Conflict(f"datastore {datastore.name!r} is built in and cannot be replaced")
        if isinstance(datastore, LocalDatastore) and not Path(datastore.path).is_absolute():
            raise ValidationError(f"datastore {datastore.name}: path must be absolute")
        with self.context.store.begin() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            existing = tx.resources.find(workspace_id, KIND, datastore.name)
            self._store_credentials(tx, workspace_id, datastore, existing)
            wanted = datastore.model_copy(update={"is_default": False})
            if existing is None:
                stored = tx.resources.create(
                    workspace_id, KIND, wanted, created_by=self.context.user
                )
            else:
                keep_default = isinstance(existing, DatastoreBase) and existing.is_default
                stored = tx.resources.replace(
                    workspace_id, KIND, wanted.model_copy(update={"is_default": keep_default})
                )
            assert isinstance(stored, DatastoreBase)
            return stored

    def get(self, workspace: str, name: str) -> DatastoreBase:
        with self.context.store.read() as tx:
            return _datastore(tx.resources.get(tx.workspaces.id_of(workspace), KIND, name))

    def local_path(self, workspace: str, uri: str) -> Path | None:
        """The file or folder behind an `azureml://datastores/...` URI on a local datastore,
        else None."""
        located = parse_datastore_uri(uri)
        if located is None:
            return None
        datastore = self.get(workspace, located.datastore)
        if not isinstance(datastore, LocalDatastore):
            return None
        return safe_join(Path(datastore.path), located.path)

    def list(self, workspace: str) -> list[DatastoreBase]:
        with self.context.store.read() as tx:
            rows = tx.resources.list(tx.workspaces.id_of(workspace), KIND)
            return [_datastore(row) for row in rows]

    def get_default(self, workspace: str) -> DatastoreBase:
        for datastore in self.list(workspace):
            if datastore.is_default:
                return datastore
        raise NotFound(f"workspace {workspace!r} has no default datastore")

    def set_default(self, workspace: str, name: str) -> DatastoreBase:
        with self.context.store.begin() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            target = _datastore(tx.resources.get(workspace_id, KIND, name))
            for other in tx.resources.list(workspace_id, KIND):
                if isinstance(other, DatastoreBase) and other.is_default:
                    tx.resources.replace(
                        workspace_id, KIND, other.model_copy(update={"is_default": False})
                    )
            return _datastore(
                tx.resources.replace(
                    workspace_id, KIND, target.model_copy(update={"is_default": True})
                )
            )

    def delete(self, workspace: str, name: str) -> None:
        if name in BUILT_IN:
            raise Conflict(f"datastore {name!r} is built in and cannot be deleted")
        with self.context.store.begin() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            if _datastore(tx.resources.get(workspace_id, KIND, name)).is_default:
                raise Conflict(f"datastore {name!r} is the default; make another the default first")
            tx.resources.delete(workspace_id, KIND, name)
            tx.secrets.delete(workspace_id, credential_secret_name(name))

    def open(self, workspace: str, name: str) -> DatastoreFiles:
        """Files of a datastore, with its credentials decrypted in this process only."""
        with self.context.store.read() as tx:
            workspace_id = tx.workspaces.id_of(workspace)
            datastore = _datastore(tx.resources.get(workspace_id, KIND, name))
            credentials = None
            if not datastore.identity_based:
                raw = self.secrets.read(tx, workspace_id, credential_secret_name(name))
                credentials = json.loads(raw)
        return open_datastore(datastore, credentials)

    def _store_credentials(
        self,
        tx: Transaction,
        workspace_id: int,
        datastore: DatastoreBase,
        existing: object,
    ) -> None:
        secret_name = credential_secret_name(datastore.name)
        values = datastore.secret_values()
        if values is None:
            tx.secrets.delete(workspace_id, secret_name)
            return
        masked = sorted(key for key, value in values.items() if value == SECRET_MASK)
        if masked:
            # A spec printed by `show` carries masks; keep the stored values it stands for.
            stored = self._stored_values(tx, workspace_id, secret_name, existing)
            if stored is None or any(key not in stored for key in masked):
                raise ValidationError(
                    f"datastore {datastore.name}: credentials.{masked[0]} is the masked "
                    "placeholder printed by show; give the real value"
                )
            values = {**values, **{key: stored[key] for key in masked}}
        self.secrets.put(tx, workspace_id, secret_name, json.dumps(values))

    def _stored_values(
        self, tx: Transaction, workspace_id: int, secret_name: str, existing: object
    ) -> dict[str, str] | None:
        if not isinstance(existing, DatastoreBase) or existing.identity_based:
            return None
        stored: dict[str, str] = json.loads(self.secrets.read(tx, workspace_id, secret_name))
        return stored


def _datastore(resource: object) -> DatastoreBase:
    assert isinstance(resource, DatastoreBase)
    return resource
