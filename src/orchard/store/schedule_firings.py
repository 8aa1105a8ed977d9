"""Each time a schedule fired, and the job that firing created.

The row is the claim: (workspace, schedule, fire time) is unique, so two schedulers (the
server's and an `orchard schedule run-pending`, or a scheduler restarted midway) cannot
both fire one time; the job's name is fixed by the row, so a firing whose job was never
submitted (a crash between the two) is submitted on the next pass.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from orchard.entities.schedule_firings import Firing
from orchard.store.tables import Base, utcnow


class ScheduleFiringRow(Base):
    __tablename__ = "schedule_firings"
    __table_args__ = (UniqueConstraint("workspace_id", "schedule", "fire_time"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    schedule: Mapped[str] = mapped_column(String(255))
    fire_time: Mapped[datetime]
    job_name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScheduleFiringRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def claim(self, workspace_id: int, schedule: str, fire_time: datetime, job: str) -> bool:
        """Record the firing; False when it is already recorded (someone else fired it)."""
        row = ScheduleFiringRow(
            workspace_id=workspace_id, schedule=schedule, fire_time=fire_time, job_name=job
        )
        try:
            with self.session.begin_nested():
                self.session.add(row)
        except IntegrityError:
            return False
        return True

    def list(self, workspace_id: int, schedule: str, limit: int | None = None) -> list[Firing]:
        query = (
            select(ScheduleFiringRow)
            .where(
                ScheduleFiringRow.workspace_id == workspace_id,
                ScheduleFiringRow.schedule == schedule,
            )
            .order_by(ScheduleFiringRow.fire_time.desc())
            .limit(limit)
        )
        return [
            Firing(
                schedule=row.schedule,
                fire_time=row.fire_time,
                job_name=row.job_name,
                claimed_at=row.created_at,
            )
            for row in self.session.scalars(query)
        ]

    def forget(self, workspace_id: int, schedule: str) -> None:
        """A deleted schedule's firings go with it (a new one of that name starts afresh)."""
        for row in self.session.scalars(
            select(ScheduleFiringRow).where(
                ScheduleFiringRow.workspace_id == workspace_id,
                ScheduleFiringRow.schedule == schedule,
            )
        ):
            self.session.delete(row)
        self.session.flush()
