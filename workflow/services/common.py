from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone

from workflow.actors import Actor
from workflow.errors import Conflict
from workflow.models import Application, TransitionLog


def lock(application: Application | int, actor: Actor) -> Application:
    """Re-read and lock the application's row, scoped to what the actor may see.

    Staff outside the office get DoesNotExist (a 404), never a hint that it exists.
    """
    pk = application.pk if isinstance(application, Application) else application
    queryset = Application.objects.select_for_update(of=("self",)).select_related("office")
    if actor.kind == "user":
        queryset = queryset.visible_to(actor)
    try:
        return queryset.get(pk=pk)
    except Application.DoesNotExist:
        # The caller read it in one of their offices and a concurrent transfer has moved it away since:
        # they lost a race (a conflict, SPEC §3), they did not ask for something they may not see.
        if (
            isinstance(application, Application)
            and application.office_id in actor.office_ids
            and Application.objects.filter(pk=pk).exists()
        ):
            raise Conflict("The application was transferred to another office meanwhile.") from None
        raise


def record(
    application: Application,
    *,
    action: str,
    actor: Actor,
    at: datetime,
    from_state: str | None = None,
    params: dict[str, Any] | None = None,
) -> TransitionLog:
    return history_row(application, action=action, actor=actor, at=at, from_state=from_state, params=params, save=True)


def history_row(
    application: Application,
    *,
    action: str,
    actor: Actor,
    at: datetime,
    from_state: str | None = None,
    params: dict[str, Any] | None = None,
    save: bool = False,
) -> TransitionLog:
    """The history row `record` writes, unsaved unless `save` (a sweep inserts a batch of them at once)."""
    row = TransitionLog(
        application=application,
        action=action,
        from_state=from_state if from_state is not None else application.state,
        to_state=application.state,
        actor_kind=actor.kind,
        actor=actor.user if actor.kind == "user" else None,
        params=params or {},
        at=at,
    )
    if save:
        row.save(force_insert=True)
    return row


# SWEEP_BATCH_SIZE's default.
SWEEP_BATCH_SIZE = 200


def sweep_batch_size() -> int:
    """Due rows a sweep claims and handles per transaction (SLA, reminders, aftercare)."""
    return int(getattr(settings, "SWEEP_BATCH_SIZE", SWEEP_BATCH_SIZE))


def now_or(now: datetime | None) -> datetime:
    return now if now is not None else timezone.now()


__all__ = ["ObjectDoesNotExist", "history_row", "lock", "now_or", "record", "sweep_batch_size"]
