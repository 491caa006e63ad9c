"""Per-user and per-chat settings (`/lang`), kept in Redis: the bot writes them, both
front ends read them (the Mini App applies a user's languages)."""

from __future__ import annotations

from dataclasses import dataclass, field

from redis.asyncio import Redis

from tasks.connections import as_text
from tasks.languages import app_language

_USER = "tolmach:user:"
_CHAT = "tolmach:chat:"


@dataclass(frozen=True)
class UserPrefs:
    """A user's languages: `target` first, then `second` for text already in target."""

    target: str | None = None
    second: str | None = None


@dataclass(frozen=True)
class ChatPrefs:
    """A group's defaults: its languages (first is the target) and auto-translate."""

    languages: tuple[str, ...] = field(default_factory=tuple)
    auto: bool = False

    @property
    def target(self) -> str | None:
        """The language messages are translated into."""
        return self.languages[0] if self.languages else None


class PrefsStore:
    """Reads and writes preferences as small Redis hashes."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def user(self, user_id: int) -> UserPrefs:
        """A user's preferences (empty when never set)."""
        raw = await self.redis.hgetall(_USER + str(user_id))
        data = _strings(raw)
        return UserPrefs(data.get("target"), data.get("second"))

    async def languages_of(self, user_id: int | None, language_code: str | None) -> UserPrefs:
        """A user's languages with defaults: stored ones, else the Telegram app's
        language, with English second (unless that is already the first)."""
        stored = await self.user(user_id) if user_id is not None else UserPrefs()
        target = stored.target or app_language(language_code or "en") or "en"
        second = stored.second or ("en" if target != "en" else None)
        return UserPrefs(target, second)

    async def set_user(self, user_id: int, prefs: UserPrefs) -> None:
        """Replace a user's preferences."""
        key = _USER + str(user_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            values: dict[str | bytes, str] = {
                k: v for k, v in (("target", prefs.target), ("second", prefs.second)) if v
            }
            if values:
                pipe.hset(key, mapping=values)  # type: ignore[arg-type]
            await pipe.execute()

    async def chat(self, chat_id: int) -> ChatPrefs:
        """A chat's preferences (empty when never set)."""
        raw = await self.redis.hgetall(_CHAT + str(chat_id))
        data = _strings(raw)
        langs = tuple(x for x in data.get("languages", "").split(",") if x)
        return ChatPrefs(langs, data.get("auto") == "1")

    async def set_chat(self, chat_id: int, prefs: ChatPrefs) -> None:
        """Replace a chat's preferences."""
        values = {"languages": ",".join(prefs.languages), "auto": "1" if prefs.auto else "0"}
        await self.redis.hset(_CHAT + str(chat_id), mapping=values)  # type: ignore[arg-type]


def _strings(raw: dict[bytes | str, bytes | str]) -> dict[str, str]:
    return {as_text(k): as_text(v) for k, v in raw.items()}
