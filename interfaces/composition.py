"""Wiring: the application opened on the store the settings name."""

from __future__ import annotations

from application.clock import Clock
from application.mediation import MediationApplication
from infrastructure.settings import Settings
from infrastructure.stores import prepare_store


def open_application(settings: Settings, clock: Clock | None = None) -> MediationApplication:
    """Prepare the store (schema, folder) and open the application on it."""
    prepare_store(settings)
    return MediationApplication(
        settings.eventsourcing_env(), clock=clock, deadlines=settings.deadlines
    )
