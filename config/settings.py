"""Settings read from the environment and `.env`.

Every process builds `Settings` once at start and passes it down; tests construct
`Settings(...)` directly.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, RedisDsn, SecretStr, ValidationError, field_validator
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
    model_template: str = "Helsinki-NLP/opus-mt-{src}-{tgt}"
    models: dict[str, str] = Field(default_factory=dict)
    device: Literal["cpu", "cuda", "auto"] = "auto"
    engine: Literal["transformers", "ctranslate2"] = "transformers"
    model_cache: str = "~/.cache/tolmach"
    num_beams: int = Field(default=2, ge=1, le=8)
    torch_threads: int = Field(default=0, ge=0)
    ct2_compute_type: str = "auto"
    max_loaded_models: int = Field(default=4, ge=1)
    preload_pairs: Annotated[list[str], NoDecode] = Field(default_factory=list)
    batch_max_requests: int = Field(default=64, ge=1)
    batch_wait_ms: int = Field(default=20, ge=1)
    batch_token_budget: int = Field(default=8192, ge=64)
    cache_ttl: int = Field(default=7 * 86_400, ge=0)
    detect_languages: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_text_chars: int = Field(default=4096, ge=1)
    task_soft_time_limit: int = Field(default=120, ge=1)
    reply_ttl: int = Field(default=86_400, ge=60)
    inline_debounce: float = Field(default=0.35, ge=0)
    inline_deadline: float = Field(default=8.0, gt=0, le=30)
    log_level: str = "INFO"

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

    @field_validator("preload_pairs", "detect_languages", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
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
    return settings


def describe_error(exc: ValidationError) -> str:
    """Word the first validation error as one line naming the variable."""
    err = exc.errors()[0]
    name = str(err["loc"][0]).upper() if err["loc"] else "settings"
    message = str(err["msg"]).removeprefix("Value error, ")
    return f"Configuration error: {name}: {message}"
