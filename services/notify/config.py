"""The notify service's settings (``ONEWINDOW_NOTIFY_*`` besides the runtime's own)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from services.runtime.declaration import ServiceDeclaration
from services.runtime.settings import ServiceSettings
from services.runtime.workdays import TZ

from . import domain


class NotifySettings(ServiceSettings):
    notify_instance: str = Field("notify", description="Service instance name: consumer groups are <instance>.<handler> "
                                 "(tests run isolated instances; production keeps 'notify').")
    # --- the center, as printed on notices and in the SMS signature
    notify_center_name: str = Field("某某县行政审批服务中心", description="The center's name (notices, SMS signature).")
    notify_center_phone: str = Field("0000-12345678", description="Enquiry phone printed on notices.")
    notify_center_address: str = Field("某某县人民路1号政务服务大厦", description="The hall's address printed on notices.")
    notify_center_unit_code: str = Field("ZX", description="Unit code of the center itself (its own seal for supervision and year-end assessment notices; seal's ONEWINDOW_SEAL_CENTER_UNIT_CODE names the same unit).")
    notify_county_government: str = Field("某某县人民政府", description="Administrative reconsideration body named in notices (行政复议机关).")
    notify_county_court: str = Field("某某县人民法院", description="Court named in notices for administrative litigation.")
    notify_sms_signature: str | None = Field(None, description="SMS signature; default 【<center name>】.")
    notify_public_url: str | None = Field(
        None, description="Base URL the public reaches notify at (short links /s/{code}). Default: http://host:port.")
    notify_rating_url_template: str = Field(
        "http://127.0.0.1:8101/intake/public/ratings/{receipt_no}",
        description="The satisfaction survey link intake serves, with {receipt_no} filled in.")
    notify_pickup_place: str = Field("中心综合出件窗口", description="Where approved licences are collected (approval SMS and notice).")
    notify_supplement_days: int = Field(5, ge=1, le=60, description="Working days given to bring missing materials.")

    # --- SMS
    notify_sms_provider: Literal["file", "smpp", "aliyun"] = Field("file", description="Which SMS provider sends.")
    notify_sms_max_parts: int = Field(4, ge=1, le=10, description="Longest SMS allowed, in parts (carriers bill each).")
    notify_sms_reference_bits: Literal[8, 16] = Field(8, description="Concatenation reference size in the UDH (8 or 16 bits).")
    notify_quiet_hours: str = Field("22:00-08:00", description="Applicants get no SMS in this window (local time); 'off' to disable.")
    notify_time_zone: str = Field(TZ.key, description="Time zone of the quiet hours (default: the center's, services.runtime.workdays.TZ).")
    notify_rate_per_second: float = Field(20.0, gt=0, description="Provider rate limit: SMS parts per second (token bucket).")
    notify_rate_burst: int = Field(20, ge=1, description="Provider rate limit: burst size.")
    notify_retry_max_attempts: int = Field(6, ge=1, description="Submit attempts before a temporary error becomes failed.")
    notify_retry_base_seconds: float = Field(30.0, gt=0, description="First retry delay (doubles each time).")
    notify_retry_cap_seconds: float = Field(1800.0, gt=0, description="Longest retry delay.")
    notify_worker_concurrency: int = Field(8, ge=1, le=256, description="Messages the delivery worker submits at once.")
    notify_worker_poll_seconds: float = Field(1.0, gt=0, description="How often the delivery worker looks for due messages when idle.")

    notify_smpp_host: str = Field("127.0.0.1", description="SMSC host.")
    notify_smpp_port: int = Field(2775, description="SMSC port.")
    notify_smpp_system_id: str = Field("", description="SMPP system_id (account).")
    notify_smpp_password: SecretStr = Field(SecretStr(""), description="SMPP password.")
    notify_smpp_system_type: str = Field("", description="SMPP system_type, if the carrier wants one.")
    notify_smpp_source_addr: str = Field("", description="Source address (the center's SMS service number, e.g. 106…).")
    notify_smpp_source_ton: int = Field(0, description="source_addr_ton.")
    notify_smpp_source_npi: int = Field(0, description="source_addr_npi.")
    notify_smpp_dest_ton: int = Field(0, description="dest_addr_ton.")
    notify_smpp_dest_npi: int = Field(1, description="dest_addr_npi (1: ISDN/E.164).")
    notify_smpp_enquire_link_seconds: float = Field(30.0, gt=0, description="Keepalive interval.")
    notify_smpp_response_timeout: float = Field(10.0, gt=0, description="Wait for a response PDU before the outcome is unknown.")

    notify_aliyun_endpoint: str = Field("https://dysmsapi.aliyuncs.com", description="SendSms endpoint.")
    notify_aliyun_access_key_id: str = Field("", description="AccessKey ID.")
    notify_aliyun_access_key_secret: SecretStr = Field(SecretStr(""), description="AccessKey secret.")
    notify_aliyun_receipt_token: SecretStr | None = Field(
        None, description="A secret the delivery-receipt callback URL registered with the provider carries "
        "(`…/notify/sms/receipts/aliyun?token=…`); when set, a push without it is refused (403).")
    notify_aliyun_sign_name: str | None = Field(None, description="Registered SignName; default the center's name.")
    notify_aliyun_template_codes: dict[str, str] = Field(
        default_factory=dict, description="Template name -> registered TemplateCode (JSON), e.g. {\"survey\": \"SMS_123\"}.")

    # --- notices
    notify_seal_timeout_seconds: float = Field(600.0, gt=0, description="How long a notice waits for its seal before it fails visibly.")
    # The county's one setting, read by the seal service too (same variable, ONEWINDOW_SEAL_FORMATS):
    # notify asks for exactly the formats the county issues, so the two cannot disagree.
    seal_formats: Annotated[list[Literal["pdf", "ofd"]], NoDecode] = Field(
        default_factory=lambda: ["pdf"],
        description="Formats the county issues (ONEWINDOW_SEAL_FORMATS, shared with the seal service): every "
        "notice is asked for in each, pdf (PAdES) and/or ofd (GB/T 33190 with a GB/T 38540 seal). "
        "Comma-separated or JSON.")
    notify_contact_sweep_seconds: float = Field(
        30.0, gt=0, description="How often notices (and surveys) still waiting for an applicant contact that has "
        "arrived, and duty gaps still waiting for a duty manager who is known, are looked for and released. Commits that may leave one behind trigger the look at once; this "
        "period covers a process that stopped in between.")
    notify_duty_gap_alert_max_age_hours: float = Field(
        12.0, gt=0, description="A weekend duty gap that waited for a duty manager (none known yet when it was "
        "detected) longer than this when one becomes known is marked expired and logged, not sent: an alert "
        "about a shift long past is noise.")
    notify_cjk_font: Path = Field(Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
                                  description="CJK TrueType font embedded in notices (fonts-wqy-microhei).")
    notify_notice_font_reuse: bool = Field(
        True, description="Keep the font subsets of the notices' wording and reuse them (the same bytes ReportLab "
        "would build again); off: every notice's font embedded from scratch, as before (for measurements).")

    # ------------------------------------------------------------------ derived
    @property
    def signature(self) -> str:
        return self.notify_sms_signature or f"【{self.notify_center_name}】"

    @property
    def public_url(self) -> str:
        return (self.notify_public_url or self.public_base_url).rstrip("/")

    @property
    def quiet_hours(self) -> domain.QuietHours:
        return domain.parse_quiet_hours(self.notify_quiet_hours, self.notify_time_zone)

    @property
    def retry_policy(self) -> domain.RetryPolicy:
        return domain.RetryPolicy(
            max_attempts=self.notify_retry_max_attempts,
            base=timedelta(seconds=self.notify_retry_base_seconds),
            cap=timedelta(seconds=self.notify_retry_cap_seconds),
        )

    @field_validator("seal_formats", mode="before")
    @classmethod
    def _formats(cls, v: object) -> object:
        if isinstance(v, str):
            v = json.loads(v) if v.strip().startswith("[") else [p.strip().lower() for p in v.split(",") if p.strip()]
        if isinstance(v, list):
            v = list(dict.fromkeys(v))
            if not v:
                raise ValueError("at least one format (pdf, ofd)")
        return v

    @property
    def seal_timeout(self) -> timedelta:
        return timedelta(seconds=self.notify_seal_timeout_seconds)

    @property
    def duty_gap_alert_max_age(self) -> timedelta:
        return timedelta(hours=self.notify_duty_gap_alert_max_age_hours)

    @property
    def outbox_file(self) -> Path:
        return self.data_dir / "notify" / "sms-outbox.jsonl"

    @property
    def notices_dir(self) -> Path:
        return self.data_dir / "notify" / "notices"


#: What the tools need to know of notify (``tools/registry.py``): its default port, the topics its
#: handlers read (its KafkaUser's read ACLs) and other services' command topics it writes.
DECLARATION = ServiceDeclaration(
    name="notify",
    port=8104,
    title="OneWindow notify",
    consumes=('intake.applications', 'intake.case-texts', 'intake.contacts', 'intake.units', 'intake.ratings', 'seal.documents', 'deadline.clocks', 'deadline.supervision', 'attendance.staff', 'attendance.duty', 'attendance.assessments'),
    writes=('seal.commands',),
)
