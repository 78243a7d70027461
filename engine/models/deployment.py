"""Deployed model versions: the files as deployed, and each process's parsed spec stored once."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, utcnow


class Deployment(Base):
    """One deployment = one version number shared by every process it carries."""

    __tablename__ = "deployment"

    id: Mapped[int] = mapped_column(primary_key=True)  # the version number
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    deployed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    deployed_by: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(200), default="")


class DeploymentFile(Base):
    """A BPMN, DMN or JSON file exactly as deployed (forms are read from here at run time)."""

    __tablename__ = "deployment_file"
    __table_args__ = (UniqueConstraint("deployment_id", "filename"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id"))
    filename: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)
    inherited: Mapped[bool] = mapped_column(default=False)


class ProcessVersion(Base):
    """A process's serialized spec (and its called processes) for one deployment, parsed once."""

    __tablename__ = "process_version"
    __table_args__ = (
        UniqueConstraint("process_id", "deployment_id"),
        Index("ix_process_version_latest", "process_id", "deployment_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(200))
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id"))
    name: Mapped[str] = mapped_column(String(300), default="")
    bpmn_filename: Mapped[str] = mapped_column(String(300))
    spec_json: Mapped[str] = mapped_column(Text)
    clauses: Mapped[list] = mapped_column(default=list)
    lane_roles: Mapped[dict] = mapped_column(default=dict)
    message_starts: Mapped[list] = mapped_column(default=list)  # message names its start events catch
    deployed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    is_executable: Mapped[bool] = mapped_column(default=True)
