"""Which completed pipeline step produced the outputs for a reuse key.

A step's reuse key is a digest of everything that decides its outputs (component, code
snapshot, environment, parameters, input contents); a later step with the same key takes
that step's outputs instead of running.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from orchard.store.tables import Base, utcnow
from orchard.store.tracking_tables import JobRow


class StepReuseRow(Base):
    __tablename__ = "step_reuse"
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    reuse_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StepReuseRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def find(self, workspace_id: int, key: str) -> str | None:
        """The name of the job whose outputs answer `key`, if one completed."""
        query = (
            select(JobRow.name)
            .join(StepReuseRow, StepReuseRow.job_id == JobRow.id)
            .where(StepReuseRow.workspace_id == workspace_id, StepReuseRow.reuse_key == key)
        )
        return self.session.scalars(query).first()

    def record(self, workspace_id: int, key: str, job_id: int) -> None:
        """The newest completed step for a key wins (a forced rerun replaces the old one)."""
        row = self.session.get(StepReuseRow, (workspace_id, key))
        if row is None:
            self.session.add(StepReuseRow(workspace_id=workspace_id, reuse_key=key, job_id=job_id))
        else:
            row.job_id, row.created_at = job_id, utcnow()
        self.session.flush()
