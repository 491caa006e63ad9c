"""Settings read from the environment and `.env`.

Every process builds `Settings` once at start and passes it down; tests construct
`Settings(...)` directly.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    Field,
    RedisDsn,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_TOKEN_RE = re.compile(r"^\d+:[\w-]+$")


class Settings(BaseSettings):
    """All of Tolmach's settings; env names are the upper-cased field names."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", protected_namespaces=()
    )

    bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    redis_url: RedisDsn = RedisDsn("redis://localhost:6379/0")
    # Sentinel mode: the master is asked of these; REDIS_URL then gives only the
    # password, database and TLS (its host and port are ignored).
    redis_sentinels: Annotated[list[str], NoDecode] = Field(default_factory=list)
    redis_sentinel_master: str | None = Field(default=None, validate_default=True)
    redis_sentinel_password: SecretStr | None = None
    model_template: str = "Helsinki-NLP/opus-mt-{src}-{tgt}"
    models: dict[str, str] = Field(default_factory=dict)
    device: Literal["cpu", "cuda", "auto"] = "auto"
    # auto: CTranslate2 for the models it converts (opus-mt, NLLB, M2M100), else transformers.
    engine: Literal["auto", "transformers", "ctranslate2"] = "auto"
    model_cache: str = "~/.cache/tolmach"
    num_beams: int = Field(default=2, ge=1, le=8)
    # Threads of one worker child's engine; 0: the host's cores shared by its children.
    torch_threads: int = Field(default=0, ge=0)
    # Pool children of a worker (Celery's --concurrency, which overrides it): a fixed
    # two, not one per core, so a model's memory does not grow with the host; each
    # child's engine runs parallel batches on its share of the cores.
    worker_concurrency: int = Field(default=2, ge=1)
    ct2_compute_type: str = "auto"
    max_loaded_models: int = Field(default=4, ge=1)
    preload_pairs: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Without PRELOAD_PAIRS: load the pairs the catalog lists when a worker starts.
    preload_models: bool = True
    batch_max_requests: int = Field(default=64, ge=1)
    batch_wait_ms: int = Field(default=20, ge=1)
    batch_token_budget: int = Field(default=8192, ge=64)
    cache_ttl: int = Field(default=7 * 86_400, ge=0)
    detect_languages: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_text_chars: int = Field(default=4096, ge=1)
    # One request's work: characters × targets, and targets, at most (every front end).
    request_char_budget: int = Field(default=100_000, ge=1)
    max_targets: int = Field(default=10, ge=1)
    task_soft_time_limit: int = Field(default=120, ge=1)
    reply_ttl: int = Field(default=86_400, ge=60)
    inline_debounce: float = Field(default=0.35, ge=0)
    inline_deadline: float = Field(default=8.0, gt=0, le=30)
    document_max_bytes: int = Field(default=0, ge=0)  # 0: by TELEGRAM_API_URL
    document_max_chars: int = Field(default=500_000, ge=1)
    document_chunk_chars: int = Field(default=4000, ge=100)
    document_parallel: int = Field(default=4, ge=1)
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    # The HTTP API (`python -m api`); port 5000 is LibreTranslate's, so its clients find it.
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=5000, ge=1, le=65535)
    # required: every call needs a key; optional: keys raise a caller's limits; off.
    api_keys: Literal["required", "optional", "off"] = "off"
    # Characters in one text; never above MAX_TEXT_CHARS, which workers enforce.
    api_char_limit: int = Field(default=5000, ge=1)
    api_batch_limit: int = Field(default=64, ge=1)  # texts in one request
    # Requests per minute of a client address without a key (0: unlimited, as
    # LibreTranslate: overload is met by MAX_QUEUE_DEPTH, not by refusing a client).
    api_rate_per_minute: float = Field(default=0, ge=0)
    api_rate_burst: int = Field(default=30, ge=1)
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (uvicorn's
    # FORWARDED_ALLOW_IPS); none by default, so no client picks its own address.
    forwarded_allow_ips: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Long-polls and event streams one client (key, Mini App user or address) may hold.
    api_streams_per_client: int = Field(default=8, ge=1)
    # Bytes of uploads and translated files the API keeps in Redis at once, files one
    # client may have there, and how long a translated file waits for its download.
    api_files_max_bytes: int = Field(default=256 * 1024 * 1024, ge=1024 * 1024)
    # One HTTP upload, at most (Telegram's download limit is the bot's, not the API's).
    api_upload_max_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    api_files_per_client: int = Field(default=4, ge=1)
    api_file_ttl: int = Field(default=3600, ge=60)
    api_cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # The page's public https address: the bot's menu button and /app open it (Mini App).
    webapp_url: str | None = None
    # Loopback unless asked: /metrics is not for the internet (containers set 0.0.0.0).
    http_host: str = "127.0.0.1"
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    metrics_port: int = Field(default=9464, ge=0, le=65535)
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    allowed_users: Annotated[list[int], NoDecode] = Field(default_factory=list)
    allowed_chats: Annotated[list[int], NoDecode] = Field(default_factory=list)
    rate_user_per_minute: float = Field(default=30, ge=0)  # 0: no per-user limit
    rate_user_burst: int = Field(default=10, ge=1)
    rate_chat_per_minute: float = Field(default=20, ge=0)  # groups; 0: no limit
    rate_chat_burst: int = Field(default=10, ge=1)
    max_queue_depth: int = Field(default=5000, ge=0)  # 0: no ceiling
    busy_retry_after: int = Field(default=30, ge=1)
    # Live workers renew their leases every quarter of it (tasks/worker/lease.py).
    visibility_timeout: int = Field(default=60, ge=20)

    @property
    def document_byte_limit(self) -> int:
        """Largest document sent to the bot (what a worker downloads from Telegram):
        api.telegram.org serves bots files up to 20 MB, a local Bot API server up to
        2000 MB. HTTP uploads have their own limit (`api_upload_limit`)."""
        if self.document_max_bytes:
            return self.document_max_bytes
        official = "://api.telegram.org" in self.telegram_api_url
        return (20 if official else 2000) * 1024 * 1024

    @property
    def api_upload_limit(self) -> int:
        """Largest document the HTTP API takes: API_UPLOAD_MAX_BYTES, and never more than
        API_FILES_MAX_BYTES, the bytes of files it may hold at once (a larger upload
        could never be admitted)."""
        return min(self.api_upload_max_bytes, self.api_files_max_bytes)

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _TOKEN_RE.match(value.get_secret_value()):
            # Never echo the value: it is a secret even when malformed.
            raise ValueError("must look like 123456:ABC-DEF… (from @BotFather)")
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an http(s) URL such as https://api.telegram.org")
        return value.rstrip("/")

    @field_validator(
        "preload_pairs",
        "detect_languages",
        "admin_ids",
        "allowed_users",
        "allowed_chats",
        "redis_sentinels",
        "api_cors_origins",
        "forwarded_allow_ips",
        mode="before",
    )
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("redis_sentinels")
    @classmethod
    def _sentinel_addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            host, _, port = address.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"{address!r} is not host:port (e.g. 10.0.0.5:26379)")
        return value

    @field_validator("redis_sentinel_master")
    @classmethod
    def _sentinel_master(cls, value: str | None, info: ValidationInfo) -> str | None:
        # Fields validate in order: REDIS_SENTINELS is already in `info.data` (absent
        # if it was malformed, which is then the error reported).
        if info.data.get("redis_sentinels") and not value:
            raise ValueError("must be set with REDIS_SENTINELS (the name in `sentinel monitor`)")
        return value or None

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be the public https URL Telegram posts updates to")
        return value or None

    @field_validator("webapp_url")
    @classmethod
    def _webapp_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("https://"):
            raise ValueError("must be the page's public https:// address (Telegram asks https)")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram accepts 1-256 characters of A-Z, a-z, 0-9, _ and - only.
        if value is not None and not re.fullmatch(r"[\w-]{1,256}", value.get_secret_value()):
            raise ValueError("must be 1-256 characters: letters, digits, _ and -")
        return value

    @field_validator("model_template")
    @classmethod
    def _template(cls, value: str) -> str:
        if "{src}" not in value or "{tgt}" not in value:
            raise ValueError("must contain {src} and {tgt}")
        return value


class SettingsError(SystemExit):
    """A configuration problem, worded as one line for the operator."""


def load_settings(*, need_bot_token: bool = False) -> Settings:
    """Build Settings from the environment, or stop the process with one clear line.

    Args:
        need_bot_token: the bot needs BOT_TOKEN; workers do not.

    Raises:
        SettingsError: a setting is missing or malformed (a SystemExit, so the
            process exits non-zero printing only the line).
    """
    try:
        settings = Settings()
    except ValidationError as exc:
        raise SettingsError(describe_error(exc)) from None
    if need_bot_token and settings.bot_token is None:
        raise SettingsError(
            "Configuration error: BOT_TOKEN is not set (get one from @BotFather "
            "and put it in the environment or .env)"
        )
    if settings.webhook_url and settings.webhook_secret is None:
        raise SettingsError(
            "Configuration error: WEBHOOK_SECRET is not set (required with WEBHOOK_URL: "
            "requests without it are rejected)"
        )
    return settings


def describe_error(exc: ValidationError) -> str:
    """Word the first validation error as one line naming the variable."""
    err = exc.errors()[0]
    name = str(err["loc"][0]).upper() if err["loc"] else "settings"
    message = str(err["msg"]).removeprefix("Value error, ")
    return f"Configuration error: {name}: {message}"
