# ruff: noqa: S608 - the SQL is built from this module's constants; every value is a parameter.
"""The queue's floor: a bare Django view with the queue's authentication (the session, the caller's
offices) that runs hand-written SQL for the same page of 50 rows and returns them as JSON.

What the real queue costs beyond it is the price of the ORM, DRF, the SLA figures and the count.
Mounted only by bench/urls.py.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

PAGE = 50
COLUMNS = (
    "a.reference, a.state, o.code AS office, a.assigned_to_id, u.username, a.full_name, a.country, "
    "a.received_at, a.reply_due_at"
)
# ordering -> (sort column, ORDER BY of the ids, ORDER BY of the rows)
ORDER = {
    "reply_due_at": ("reply_due_at", "reply_due_at ASC NULLS LAST, id ASC", "a.reply_due_at ASC NULLS LAST, a.id ASC"),
    "received_at": ("received_at", "received_at ASC, id ASC", "a.received_at ASC, a.id ASC"),
    "-received_at": ("received_at", "received_at DESC, id DESC", "a.received_at DESC, a.id DESC"),
}


def floor_queue(request: HttpRequest) -> JsonResponse:
    if not request.user.is_authenticated:
        return JsonResponse({"code": "not_authenticated"}, status=401)
    with connection.cursor() as cursor:
        cursor.execute("SELECT office_id FROM offices_membership WHERE user_id = %s ORDER BY 1", [request.user.pk])
        offices = [row[0] for row in cursor.fetchall()]
    if not offices:
        return JsonResponse({"code": "permission_denied"}, status=403)
    now = timezone.now()
    conditions, params = _filters(request, now)
    sort_column, order, rows_order = ORDER[request.GET.get("ordering") or "reply_due_at"]
    where = " AND ".join(conditions) or "TRUE"
    if request.GET.get("q"):
        # A search: collect its matches through the trigram indexes, then sort them.
        sql = (
            f"WITH m AS MATERIALIZED (SELECT id, {sort_column} FROM workflow_application "
            f"WHERE office_id = ANY(%s) AND {where}) "
            f"SELECT id FROM m ORDER BY {order} LIMIT {PAGE}"
        )
        params = [offices, *params]
    elif len(offices) > 1:
        # Several offices: one index range per office, merged (Merge Append).
        parts = " UNION ALL ".join(
            f"(SELECT id, {sort_column} FROM workflow_application WHERE office_id = %s AND {where} "
            f"ORDER BY {order} LIMIT {PAGE})"
            for _ in offices
        )
        sql = f"SELECT id FROM ({parts}) p ORDER BY {order} LIMIT {PAGE}"
        params = [value for office in offices for value in (office, *params)]
    else:
        sql = f"SELECT id FROM workflow_application WHERE office_id = %s AND {where} ORDER BY {order} LIMIT {PAGE}"
        params = [offices[0], *params]
    rows_sql = (
        f"SELECT {COLUMNS} FROM workflow_application a JOIN offices_office o ON o.id = a.office_id "
        f"LEFT JOIN auth_user u ON u.id = a.assigned_to_id WHERE a.id IN ({sql}) ORDER BY {rows_order}"
    )
    with connection.cursor() as cursor:
        cursor.execute(rows_sql, params)
        names = [column.name for column in cursor.description]
        results = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return JsonResponse({"results": results})


def _filters(request: HttpRequest, now: Any) -> tuple[list[str], list[Any]]:
    conditions: list[str] = []
    params: list[Any] = []
    state = request.GET.get("state")
    if state:
        conditions.append("state = %s")
        params.append(state)
    assigned = request.GET.get("assigned")
    if assigned == "me":
        conditions.append("assigned_to_id = %s")
        params.append(request.user.pk)
    elif assigned == "none":
        conditions.append("assigned_to_id IS NULL")
    sla = request.GET.get("sla")
    if sla == "breached":
        conditions.append("reply_due_at <= %s")
        params.append(now)
    elif sla == "due_soon":
        conditions.append("reply_warn_at <= %s AND reply_due_at > %s")
        params += [now, now]
    elif sla == "on_track":
        conditions.append("reply_warn_at > %s AND reply_due_at > %s")
        params += [now, now]
    text = (request.GET.get("q") or "").strip()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").upper() + "%"
        conditions.append(
            "(upper(reference::text) LIKE %s OR upper(full_name::text) LIKE %s OR upper(email::text) LIKE %s)"
        )
        params += [pattern, pattern, pattern]
    return conditions, params
