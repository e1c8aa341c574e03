"""What a model replica reports about itself to the ModelRegistry (`replica_started`, `heartbeat`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ReplicaReport(BaseModel):
    """One report of a replica. A report carries what the replica knows at that moment; the
    registry merges the fields it sets into the replica's record, which also holds `replica_id`,
    `reported_at`, `exited_at` and `exit_reason` (the registry's own). An unknown field is an
    error, so a renamed field cannot drift between the replica and its readers."""

    model_config = ConfigDict(extra="forbid")

    source: str | None = Field(None, description="Hub id or folder the model loads from.")
    pid: int | None = None
    started_at: float | None = Field(None, description="Unix time the replica's constructor began.")
    loaded_at: float | None = Field(None, description="Unix time the model finished loading; None while loading.")
    load_seconds: float | None = None
    idle_seconds: float | None = Field(None, description="Seconds since the last request ended (0 while busy).")
    releasing: bool | None = Field(None, description="The replica was told to release itself and is going.")
    dtype: str | None = None
    device: str | None = None
    torch_threads: int | None = None
    cuda_reserved_mb: int | None = Field(None, description="What torch's CUDA allocator holds (MB); None on the CPU.")


def report_fields(report: ReplicaReport | dict) -> dict:
    """The fields a report sets (a dict is validated first: unknown fields fail)."""
    return ReplicaReport.model_validate(report).model_dump(exclude_unset=True)
