"""Runtime settings, read from ``SILKGUARD_*`` environment variables when asked for.

Nothing here runs at import time: call :func:`get_settings` (or build :class:`Settings`
directly in tests) and pass the result down.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from silkguard.core.errors import InvalidInput

__all__ = ["DEFAULT_SECRET_KEY", "Environment", "Settings", "default_database_url", "get_settings"]

DEFAULT_SECRET_KEY = "development-only-secret-change-me"  # noqa: S105 - refused outside development


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


def default_database_url() -> str:
    """A SQLite file in the user data directory, or ``./silkguard.db`` if that is not writable."""
    data_dir = Path(user_data_dir("silkguard", appauthor=False))
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError:
        return "sqlite:///./silkguard.db"
    return f"sqlite:///{data_dir / 'silkguard.db'}"


class Settings(BaseSettings):
    """Everything that can be configured; every field maps to ``SILKGUARD_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="SILKGUARD_", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    database_url: str = Field(default_factory=default_database_url)
    secret_key: str = DEFAULT_SECRET_KEY
    sql_echo: bool = False
    # Cross-source de-duplication: two reports are the same event when they are no more
    # than this many days and kilometres apart (plus the position uncertainty of each).
    dedup_window_days: int = Field(default=1, ge=0, le=30)
    dedup_radius_km: float = Field(default=25.0, gt=0, le=500)
    h3_resolutions: tuple[int, ...] = (4, 6, 8)
    # Authentication: access tokens are trusted without a database read until they expire,
    # so they live minutes; refresh tokens (rotated on every use) live days.
    access_token_ttl_s: int = Field(default=900, ge=60, le=86_400)
    refresh_token_ttl_s: int = Field(default=14 * 86_400, ge=3600, le=365 * 86_400)
    # This many wrong passwords in a row lock an account for login_lockout_s seconds.
    login_max_failures: int = Field(default=5, ge=1, le=100)
    login_lockout_s: int = Field(default=900, ge=1, le=86_400)
    # Login attempts per client address and minute, per API process (before password checks).
    login_rate_per_minute: int = Field(default=10, ge=1, le=10_000)
    # Requests with a larger body are refused with 413 before they are read.
    max_body_bytes: int = Field(default=10 * 2**20, ge=1024, le=2**30)
    # Threads per server worker for blocking work (database calls); see api.app.
    threads_per_worker: int = Field(default=4, ge=1, le=256)
    # Map searches (a box and a time range as GeoJSON) are answered from a copy of the
    # incidents in each server process while the database says nothing changed
    # (incidents.mapindex); above this many incidents (or at 0) the database answers them.
    # About 1.4 KB of memory per incident and process (280 MB for 200,000).
    map_index_max_rows: int = Field(default=300_000, ge=0)
    # After a change, each process makes a new copy (on a background thread) at most this
    # often (seconds); until it is ready the database answers.
    map_index_refresh_s: float = Field(default=10.0, ge=0)
    # The address people reach this server at: roll-call links in alert messages use it.
    public_base_url: str = "http://127.0.0.1:8000"
    # The shared token an SMS gateway sends (X-Silkguard-Gateway-Token) with inbound SMS;
    # inbound SMS are refused while it is empty.
    sms_inbound_token: str = ""
    # Alert channels; a channel is off while its setting is empty (its deliveries fail with
    # "no <channel> channel configured" and the person's next channel is tried).
    webhook_secret: str = ""  # HMAC-SHA256 key receivers verify X-Silkguard-Signature with
    smtp_host: str = ""
    smtp_port: int = Field(default=25, ge=1, le=65_535)
    smtp_from: str = "alerts@silkguard.invalid"
    smtp_starttls: bool = False
    sms_gateway_url: str = ""
    # Where the gateway's answer to a send holds its message id (dotted path, digits index
    # lists, e.g. messages.0.id); delivery reports name the message by that id.
    sms_message_id_field: str = "id"
    mqtt_host: str = ""  # e.g. 127.0.0.1; devices get alerts on silkguard/devices/<id>/alerts
    mqtt_port: int = Field(default=1883, ge=1, le=65_535)
    # Background jobs: empty runs them in the server process; redis://... uses Dramatiq.
    jobs_url: str = ""
    # With the embedded runner, each server process also runs the scheduled jobs (reminders,
    # overdue checks, purges, TAXII pulls). False leaves them to another process (one
    # `silkguard serve` of several, or `silkguard jobs run-due` from cron) and to tests that
    # drive the jobs themselves.
    run_schedules: bool = True

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if (
            self.environment is not Environment.DEVELOPMENT
            and self.secret_key == DEFAULT_SECRET_KEY
        ):
            msg = (
                f"SILKGUARD_SECRET_KEY is the built-in development secret while "
                f"SILKGUARD_ENVIRONMENT={self.environment.value}; set SILKGUARD_SECRET_KEY to a "
                "long random value (for example the output of `python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'`)"
            )
            raise InvalidInput(msg)
        return self


def get_settings() -> Settings:
    """Read settings from the environment now (never cached at import time)."""
    return Settings()
