"""The workspace secret store (the Key Vault of a workspace): values encrypted at rest."""

from __future__ import annotations

from orchard.services.context import Context
from orchard.store import Transaction


class SecretService:
    def __init__(self, context: Context) -> None:
        self.context = context

    def set(self, workspace: str, name: str, value: str) -> None:
        with self.context.store.begin() as tx:
            self.put(tx, tx.workspaces.id_of(workspace), name, value)

    def get(self, workspace: str, name: str) -> str:
        with self.context.store.read() as tx:
            return self.read(tx, tx.workspaces.id_of(workspace), name)

    def list(self, workspace: str) -> list[str]:
        with self.context.store.read() as tx:
            return tx.secrets.names(tx.workspaces.id_of(workspace))

    def delete(self, workspace: str, name: str) -> bool:
        with self.context.store.begin() as tx:
            return tx.secrets.delete(tx.workspaces.id_of(workspace), name)

    # Inside another service's transaction, so a resource and its secret land together.
    def put(self, tx: Transaction, workspace_id: int, name: str, value: str) -> None:
        token = self.context.secret_box.encrypt(
            value.encode(), context=_context(workspace_id, name)
        )
        tx.secrets.put(workspace_id, name, token, self.context.key_id)

    def read(self, tx: Transaction, workspace_id: int, name: str) -> str:
        token, _key_id = tx.secrets.get(workspace_id, name)
        return self.context.secret_box.decrypt(token, context=_context(workspace_id, name)).decode()


def _context(workspace_id: int, name: str) -> str:
    # Binds a ciphertext to its row: moved to another secret's row, it fails to decrypt.
    return f"orchard-secret:{workspace_id}:{name}"
