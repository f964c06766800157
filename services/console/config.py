"""The console's settings (``ONEWINDOW_CONSOLE_*`` besides the runtime's own) and its declaration.

The console finds each back-end service at ``http://127.0.0.1:{port}``, the port being
``ONEWINDOW_<NAME>_HTTP_PORT`` (set by ``onewindow up`` and the test harness for every service in
every process) or the service's default, unless ``ONEWINDOW_CONSOLE_<NAME>_URL`` names another
base URL.
"""

from __future__ import annotations

import os

from pydantic import Field, SecretStr

from services.runtime.declaration import ServiceDeclaration
from services.runtime.settings import ServiceSettings

DECLARATION = ServiceDeclaration(
    name="console", port=8100, title="OneWindow console", kafka=False,
    welcome=(
        "[bold]控制台 (console): {url}/[/bold] — 网上办事 {url}/portal, 窗口工作台 {url}/desk, 中心管理 {url}/manage, 大厅屏 {url}/hall\n"
        "  demo sign-ins (ONEWINDOW_CONSOLE_DEMO_ACCOUNTS): clerk / Chuangkou2026 (FGJ), clerk2 / Chuangkou2026 (GAJ), "
        "head / Fuzeren2026, supervisor / Ducha2026 (the hall screen), admin / Guanli2026"
    ),
)

#: The five back-end services the console talks to, with their default ports.
BACKENDS: dict[str, int] = {"intake": 8101, "seal": 8102, "deadline": 8103, "notify": 8104, "attendance": 8105}

#: What each back-end service is called on a page that says it is away.
BACKEND_LABELS: dict[str, str] = {
    "intake": "受理服务（intake）",
    "seal": "电子印章服务（seal）",
    "deadline": "时限监督服务（deadline）",
    "notify": "文书与短信服务（notify）",
    "attendance": "考勤与值班服务（attendance）",
}


class ConsoleSettings(ServiceSettings):
    console_intake_url: str | None = Field(None, description="Base URL of intake (default: 127.0.0.1 and its port).")
    console_seal_url: str | None = Field(None, description="Base URL of seal (default: 127.0.0.1 and its port).")
    console_deadline_url: str | None = Field(None, description="Base URL of deadline (default: 127.0.0.1 and its port).")
    console_notify_url: str | None = Field(None, description="Base URL of notify (default: 127.0.0.1 and its port).")
    console_attendance_url: str | None = Field(
        None, description="Base URL of attendance (default: 127.0.0.1 and its port).")
    console_backend_timeout_seconds: float = Field(
        5.0, gt=0, le=120, description="How long a page waits for a back-end service before saying it is away.")

    console_part_seconds: float = Field(
        0.8, gt=0, le=60, description="How long a page waits for a secondary part (a case's clock, notices, SMS; "
        "the desk's cards) before showing the rest and marking that part as late.")

    console_catalog_cache_seconds: float = Field(
        5.0, ge=0, le=300, description="How long the public item guide (the same for everyone) is reused from "
        "intake's last answer (0: never); any change the console sends to intake clears it.")

    console_county_name: str = Field("青山县", description="The county's name, on every page.")
    console_center_name: str = Field("青山县行政审批服务中心", description="The center's name, on every page.")

    console_demo_accounts: bool = Field(
        False, description="Seed one demo account per role (printed by `onewindow up` in demo mode). Never in production.")
    console_cookie_secure: bool = Field(
        False, description="Mark the session cookie Secure (set it when the console is served over HTTPS).")
    console_session_idle_minutes: int = Field(
        120, ge=1, le=24 * 60, description="A session unused this long ends (sign in again).")
    console_session_max_hours: int = Field(
        10, ge=1, le=24, description="A session ends this long after sign-in whatever happens (a working day).")
    console_lockout_failures: int = Field(
        5, ge=1, le=100, description="Failed sign-ins of one username within the window that lock it.")
    console_lockout_minutes: int = Field(
        15, ge=1, le=24 * 60, description="The window for counting failures, and how long a lock lasts.")
    console_yellow_card_days: int = Field(
        2, ge=1, le=30, description="A case with this many working days left or fewer shows a yellow card "
        "(deadline's warning threshold); an overdue one a red card.")
    console_hall_refresh_seconds: int = Field(30, ge=5, le=3600, description="How often the hall screen reloads itself.")
    console_secret: SecretStr | None = Field(
        None, description="Key for the console's CSRF tokens. Default: derived from the staff token key.")

    console_oidc_issuer: str | None = Field(
        None, description="The county OpenID Connect provider's issuer URL: staff sign in through it "
        "(authorization code + PKCE); the services verify its tokens with ONEWINDOW_AUTH_JWKS_URL.")
    console_oidc_client_id: str | None = Field(None, description="The console's OIDC client id.")
    console_oidc_client_secret: SecretStr | None = Field(None, description="The console's OIDC client secret.")

    def backend_url(self, name: str) -> str:
        given = getattr(self, f"console_{name}_url", None)
        if given:
            return given.rstrip("/")
        port = os.environ.get(f"ONEWINDOW_{name.upper()}_HTTP_PORT") or str(BACKENDS[name])
        return f"http://127.0.0.1:{port}"
