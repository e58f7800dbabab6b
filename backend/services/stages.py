"""A job's pipeline: the stages its applications move through.

Every job starts with the board's six (applied, screening, interview, offer, hired,
rejected), one for each status an application can be in but `withdrawn` (the candidate's
own, outside the pipeline). Its owner (and admins) may rename them, add more, reorder them
and remove those no application is in; each stage belongs to one status for good, and
every status keeps at least one stage, so the state rules hold whatever the stages are
called: applications enter at the first `submitted` stage, `hired` and `rejected` are
final, withdrawing stays the candidate's.

A stage is known by its `key`, which its name gives when it is made and which stays when it
is renamed. An application stores the key of its stage, or none: then (and when its key is
of a stage since removed, or of another status) it is in the first stage of its status.
"""

import hashlib
import json
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.exceptions import Conflict, InvalidField, PreconditionFailed
from backend.db.models import ApplicationStatus
from backend.db.models.application import STAGE_KEY_MAX_LENGTH
from backend.db.repository import pipelines as pipelines_repo
from backend.db.repository.sessions import Caller
from backend.services import members
from backend.services.jobs import JOB_NOT_FOUND
from backend.services.members import Need

MAX_STAGES = 20

# The statuses a stage may have: all but the candidate's `withdrawn`.
STAGE_STATUSES = tuple(s for s in ApplicationStatus if s != ApplicationStatus.withdrawn)


@dataclass(frozen=True, slots=True)
class Stage:
    key: str
    name: str
    status: ApplicationStatus


DEFAULT = (
    Stage("applied", "Applied", ApplicationStatus.submitted),
    Stage("screening", "Screening", ApplicationStatus.reviewing),
    Stage("interview", "Interview", ApplicationStatus.interviewing),
    Stage("offer", "Offer", ApplicationStatus.offered),
    Stage("hired", "Hired", ApplicationStatus.hired),
    Stage("rejected", "Rejected", ApplicationStatus.rejected),
)


def parse(stored: list[Any] | None) -> tuple[Stage, ...]:
    """The stages a job's stored JSON describes; the default when it has none (or when what
    is stored is not a pipeline this version can read: never a failed read)."""
    if not stored:
        return DEFAULT
    try:
        stages = tuple(
            Stage(str(item["key"]), str(item["name"]), ApplicationStatus(item["status"]))
            for item in stored
        )
    except (KeyError, TypeError, ValueError):
        return DEFAULT
    if {stage.status for stage in stages} != set(STAGE_STATUSES):
        return DEFAULT
    return stages


def stage_of(stages: tuple[Stage, ...], status: ApplicationStatus, key: str | None) -> Stage | None:
    """The stage an application of `status` that stores `key` is in (None: withdrawn)."""
    first = None
    for stage in stages:
        if stage.status != status:
            continue
        if stage.key == key:
            return stage
        if first is None:
            first = stage
    return first


def find(stages: tuple[Stage, ...], key: str) -> Stage | None:
    return next((stage for stage in stages if stage.key == key), None)


async def of_job(db: AsyncSession, *, job_id: int) -> tuple[Stage, ...]:
    stored, _ = await pipelines_repo.stored(db, job_id=job_id)
    return parse(stored)


async def of_jobs(db: AsyncSession, *, job_ids: list[int]) -> dict[int, tuple[Stage, ...]]:
    """The stages of each of the jobs (the default for those without their own)."""
    stored = await pipelines_repo.stored_stages(db, job_ids=sorted(set(job_ids)))
    return {job_id: parse(stored.get(job_id)) for job_id in job_ids}


@dataclass(frozen=True, slots=True)
class Pipeline:
    stages: tuple[Stage, ...]
    counts: dict[str, int]  # applications in each stage, by key

    @property
    def etag(self) -> str:
        """The pipeline's entity tag: its stages' keys, names and statuses, in order."""
        content = json.dumps([(s.key, s.name, s.status.value) for s in self.stages])
        return f'"{hashlib.sha256(content.encode()).hexdigest()[:20]}"'


async def _managed(
    db: AsyncSession, *, user: Caller, job_id: int, need: Need, lock: bool = False
) -> None:
    _, role = await members.job_access(db, user, job_id, lock="update" if lock else None)
    members.required(role, need, not_found=JOB_NOT_FOUND)


async def _counted(db: AsyncSession, *, job_id: int, stages: tuple[Stage, ...]) -> dict[str, int]:
    counts = dict.fromkeys((stage.key for stage in stages), 0)
    for status, key, count in await pipelines_repo.stage_counts(db, job_id=job_id):
        stage = stage_of(stages, status, key)
        if stage is not None:
            counts[stage.key] += count
    return counts


async def read(db: AsyncSession, *, user: Caller, job_id: int) -> Pipeline:
    """A job's stages in order, with how many applications each holds: its owner and
    admins (404 for anyone else)."""
    await _managed(db, user=user, job_id=job_id, need=Need.read)
    stages = await of_job(db, job_id=job_id)
    return Pipeline(stages, await _counted(db, job_id=job_id, stages=stages))


@dataclass(frozen=True, slots=True)
class StageChange:
    """One stage of a new pipeline: an existing stage (`key`) renamed or kept, or a new
    one (`key` None) of `status`."""

    key: str | None
    name: str
    status: ApplicationStatus | None


def _slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = "".join(c if c.isalnum() else " " for c in ascii_name.lower()).split()
    return "-".join(words)[: STAGE_KEY_MAX_LENGTH - 4].strip("-") or "stage"


def _new_key(name: str, taken: set[str]) -> str:
    base = _slug(name)
    key, number = base, 1
    while key in taken:
        number += 1
        key = f"{base}-{number}"
    return key


def _planned(current: tuple[Stage, ...], changes: list[StageChange]) -> tuple[Stage, ...]:
    """The new pipeline, or a 422 naming the first change that cannot be."""
    at = ("body", "stages")
    by_key = {stage.key: stage for stage in current}
    names = Counter(change.name.casefold() for change in changes)
    seen: set[str] = set()
    for index, change in enumerate(changes):
        if names[change.name.casefold()] > 1:
            raise InvalidField((*at, index, "name"), "another stage has this name")
        if change.key is None:
            if change.status is None:
                raise InvalidField((*at, index, "status"), "a new stage needs a status")
            continue
        if change.key in seen:
            raise InvalidField((*at, index, "key"), "the stage is listed twice")
        seen.add(change.key)
        existing = by_key.get(change.key)
        if existing is None:
            raise InvalidField((*at, index, "key"), "no such stage in this job's pipeline")
        if change.status is not None and change.status != existing.status:
            raise InvalidField((*at, index, "status"), "a stage keeps its status")
    taken = set(seen) | set(by_key)
    stages = []
    for change in changes:
        if change.key is not None:
            stages.append(Stage(change.key, change.name, by_key[change.key].status))
            continue
        assert change.status is not None  # checked above
        key = _new_key(change.name, taken)
        taken.add(key)
        stages.append(Stage(key, change.name, change.status))
    missing = [status.value for status in STAGE_STATUSES if all(s.status != status for s in stages)]
    if missing:
        raise InvalidField(at, f"every status keeps a stage; none is left for {', '.join(missing)}")
    return tuple(stages)


async def replace(
    db: AsyncSession,
    *,
    user: Caller,
    job_id: int,
    changes: list[StageChange],
    if_match: str | None,
) -> Pipeline:
    """Replace a job's pipeline with `changes`, in their order: its owner and admins (404
    for anyone else). 422 for a pipeline that cannot be (see `_planned`); 409, and nothing
    changed, when a stage left out still holds applications; 412 for a stale `If-Match`.

    Decided with the job locked: a move into a stage (which holds the job's lock shared)
    either comes first, and the stage then holds it, or sees the new pipeline.
    """
    await _managed(db, user=user, job_id=job_id, need=Need.work, lock=True)
    current = await of_job(db, job_id=job_id)
    counts = await _counted(db, job_id=job_id, stages=current)
    _check_if_match(if_match, Pipeline(current, counts).etag)
    stages = _planned(current, changes)
    kept = {stage.key for stage in stages}
    holding = [s for s in current if s.key not in kept and counts[s.key]]
    if holding:
        listed = ", ".join(f"{s.name} ({counts[s.key]})" for s in holding)
        raise Conflict(f"Nothing was changed: these stages still hold applications: {listed}.")
    # Applications that store no stage of their status are in its first stage: when
    # another stage comes first now, they stay where they are.
    for status in STAGE_STATUSES:
        before, after = stage_of(current, status, None), stage_of(stages, status, None)
        if before is not None and after is not None and before.key != after.key:
            known = [s.key for s in current if s.status == status]
            await pipelines_repo.pin(db, job_id=job_id, status=status, key=before.key, known=known)
    await pipelines_repo.set_stages(
        db,
        job_id=job_id,
        stages=[{"key": s.key, "name": s.name, "status": s.status.value} for s in stages],
    )
    return Pipeline(stages, await _counted(db, job_id=job_id, stages=stages))


def _check_if_match(if_match: str | None, current: str) -> None:
    """412 unless `If-Match` is absent, `*`, or names the pipeline's current tag."""
    if if_match is None or if_match.strip() == "*":
        return
    if current not in (tag.strip() for tag in if_match.split(",")):
        raise PreconditionFailed()
