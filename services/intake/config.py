"""The intake service's declaration and settings."""

from __future__ import annotations

from pydantic import Field

from services.runtime import ServiceSettings
from services.runtime.declaration import ServiceDeclaration

from .domain.catalog import CatalogRules


class IntakeSettings(ServiceSettings):
    intake_promise_cap_days: int = Field(
        10, ge=1, le=60, description="The center's cap on promised limits, in working days (承诺时限上限).")
    intake_rectification_days: int = Field(
        5, ge=1, le=60, description="Working days a unit has to answer a low rating (整改期限).")
    intake_inactivity_months: int = Field(
        3, ge=1, le=24, description="Months without business after which an entered unit is flagged (应进不进).")
    intake_lookup_rate_limit: str = Field(
        "20/minute", description="Public status lookups and ratings allowed per client, counted in the shared "
                                 "database so the limit holds across replicas (limits syntax, e.g. '20/minute').")
    intake_lookup_max_failures: int = Field(
        5, ge=1, le=100, description="Wrong phone tails after which a receipt number locks for the public lookup.")
    intake_lookup_lock_minutes: int = Field(
        15, ge=1, le=1440, description="How long a receipt number stays locked after too many wrong phone tails.")
    intake_retention_days: int = Field(
        1825, ge=1, le=36500, description="Days after the decision (or the not-accepted notice) after which a case's "
                                          "personal data is pseudonymised and the texts typed about it erased.")
    intake_retention_check_seconds: float = Field(
        3600.0, gt=0, description="How often the retention worker looks for cases past the retention period.")
    intake_trust_forwarded_for: bool = Field(
        False, description="Take the client address from X-Forwarded-For (only behind the county's own ingress).")
    intake_monthly_reports: bool = Field(
        True, description="Report last month's volume per unit and flag idle units on the 1st of each month.")
    intake_gauge_seconds: float = Field(30.0, gt=0, description="How often the case gauges are refreshed.")

    def catalog_rules(self) -> CatalogRules:
        return CatalogRules(promise_cap_days=self.intake_promise_cap_days)


#: What the tools need to know of intake (``tools/registry.py``): its default port, the topics its
#: handlers read (its KafkaUser's read ACLs) and other services' command topics it writes.
DECLARATION = ServiceDeclaration(
    name="intake",
    port=8101,
    title="OneWindow intake",
    consumes=('seal.documents', 'deadline.clocks', 'deadline.calendar'),
    writes=('seal.commands',),
)
