"""The contract of the store of the cases sent to each platform, on every backend: each event
applied once, the list newest sent first, its filters, and keyset pages."""

from __future__ import annotations

from datetime import date
from datetime import timedelta
from uuid import UUID
from uuid import uuid4

from application.case_queues import Cursor
from application.case_queues import sortable
from application.mediation import MediationApplication
from application.platform_cases import PlatformCases
from application.platform_cases import PortalFilters
from domain.values import Status
from infrastructure.platform_case_stores import platform_cases_for

DAY = date(2026, 3, 2)


def sent(platform: str, days: int, status: Status = Status.AWAITING_PLATFORM) -> dict[str, object]:
    return {
        "platform": platform,
        "status": status,
        "last_sent_on": DAY + timedelta(days=days),
        "response_due": DAY + timedelta(days=days + 15),
    }


def all_pages(store: PlatformCases, platform: str, size: int) -> list[UUID]:
    found: list[UUID] = []
    after = None
    while True:
        rows, _ = store.page(platform, PortalFilters(), size, after)
        found += [r.id for r in rows]
        if len(rows) < size:
            return found
        after = Cursor(sortable(rows[-1].last_sent_on), rows[-1].id)


def test_the_list_is_newest_sent_first_filtered_and_paged(
    mediation: MediationApplication,
) -> None:
    store = platform_cases_for(mediation.recorder)
    ids = [uuid4() for _ in range(6)]
    updates = {
        ids[0]: sent("amazon", 0),
        ids[1]: sent("amazon", 2),
        ids[2]: sent("amazon", 2, Status.PLATFORM_RESPONDED) | {"response_due": None},
        ids[3]: sent("amazon", 5),
        ids[4]: {"platform": "amazon", "status": Status.QUALIFIED},  # not sent: not listed
        ids[5]: sent("cdiscount", 1),
    }
    assert store.apply(updates, 6)
    assert not store.apply({ids[4]: sent("amazon", 9)}, 6)  # position reached: not again
    rows, position = store.page("amazon", PortalFilters(), 10, None)
    assert position == 6
    same_day = sorted([ids[1], ids[2]], reverse=True)
    assert [r.id for r in rows] == [ids[3], *same_day, ids[0]]
    assert all_pages(store, "amazon", 1) == [r.id for r in rows]
    assert all_pages(store, "amazon", 3) == [r.id for r in rows]
    answered, _ = store.page("amazon", PortalFilters(status=Status.PLATFORM_RESPONDED), 10, None)
    assert [r.id for r in answered] == [ids[2]]
    due, _ = store.page("amazon", PortalFilters(due_by=DAY + timedelta(days=17)), 10, None)
    assert {r.id for r in due} == {ids[0], ids[1]}
    assert [r.id for r in store.page("cdiscount", PortalFilters(), 10, None)[0]] == [ids[5]]
    assert store.apply({ids[4]: sent("amazon", 9)}, 7)  # sent now: listed first
    assert store.page("amazon", PortalFilters(), 1, None)[0][0].id == ids[4]
