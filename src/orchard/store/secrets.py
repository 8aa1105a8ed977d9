"""Encrypted secret rows. Encryption happens above this layer; rows hold ciphertext."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchard.errors import NotFound
from orchard.store.tables import SecretRow, utcnow


class SecretRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def put(self, workspace_id: int, name: str, ciphertext: bytes, key_id: str) -> None:
        row = self._find(workspace_id, name)
        if row is None:
            self.session.add(
                SecretRow(
                    workspace_id=workspace_id, name=name, ciphertext=ciphertext, key_id=key_id
                )
            )
        else:
            row.ciphertext, row.key_id, row.updated_at = ciphertext, key_id, utcnow()
        self.session.flush()

    def get(self, workspace_id: int, name: str) -> tuple[bytes, str]:
        row = self._find(workspace_id, name)
        if row is None:
            raise NotFound(f"secret {name!r} not found")
        return row.ciphertext, row.key_id

    def names(self, workspace_id: int) -> list[str]:
        return list(
            self.session.scalars(
                select(SecretRow.name)
                .where(SecretRow.workspace_id == workspace_id)
                .order_by(SecretRow.name)
            )
        )

    def delete(self, workspace_id: int, name: str) -> bool:
        row = self._find(workspace_id, name)
        if row is not None:
            self.session.delete(row)
            self.session.flush()
        return row is not None

    def _find(self, workspace_id: int, name: str) -> SecretRow | None:
        return self.session.scalar(
            select(SecretRow).where(SecretRow.workspace_id == workspace_id, SecretRow.name == name)
        )
