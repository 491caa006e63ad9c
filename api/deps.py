"""What the routes are handed (`Depends`): the process's services, the caller behind a
key, the owner check of a job, and the guard bound to a request.

Nothing here reads a body: a dialect whose key rides in its body (LibreTranslate's,
DeepL's) binds its own `Gate` once it has its fields (`routes/libre.py`,
`deepl_common.py`). A keyless call under API_KEYS=required to a route whose key can only
come in a header or the query is refused earlier still, before its body is read
(`bodies.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Query, Request
from redis.asyncio import Redis

from api.guard import Caller, Guard
from api.jobs import ApiJobs
from api.services import ApiServices, services_of
from api.telegram import WebAppUser
from config import Settings


async def _services(request: Request) -> ApiServices:
    # Every dependency here is async: FastAPI runs a plain `def` one in its thread pool,
    # a hop per request that a burst of small requests feels.
    return services_of(request)


ServicesDep = Annotated[ApiServices, Depends(_services)]


async def _settings(services: ServicesDep) -> Settings:
    return services.settings


async def _jobs(services: ServicesDep) -> ApiJobs:
    return services.jobs


async def _guard(services: ServicesDep) -> Guard:
    return services.guard


async def _redis(services: ServicesDep) -> Redis:
    return services.redis


SettingsDep = Annotated[Settings, Depends(_settings)]
JobsDep = Annotated[ApiJobs, Depends(_jobs)]
GuardDep = Annotated[Guard, Depends(_guard)]
RedisDep = Annotated[Redis, Depends(_redis)]


@dataclass(frozen=True)
class Gate:
    """The guard bound to one request and the key its dialect carries: what a route
    calls to learn who calls and to admit its work."""

    guard: Guard
    request: Request
    key: str | None

    async def caller(self) -> Caller:
        """Who calls (see `Guard.caller`)."""
        return await self.guard.caller(self.request, self.key)

    async def admit(
        self, texts: Sequence[str], *, src: str = "auto", targets: Sequence[str] = ()
    ) -> Caller:
        """Who calls, once their rate and limits let `texts` into `targets` in (see
        `Guard.admit`)."""
        return await self.guard.admit(self.request, self.key, texts, src=src, targets=targets)


async def api_key(
    x_api_key: Annotated[str | None, Header()] = None,
    api_key: Annotated[str | None, Query()] = None,
) -> str | None:
    """The `/api/...` routes' key: the `X-API-Key` header, or `?api_key=`."""
    return x_api_key or api_key


ApiKeyDep = Annotated[str | None, Depends(api_key)]


async def gate(request: Request, guard: GuardDep, key: ApiKeyDep) -> Gate:
    """The guard for a route whose key comes in a header or the query."""
    return Gate(guard, request, key)


GateDep = Annotated[Gate, Depends(gate)]


async def owner(task_id: str, services: ServicesDep, gate: GateDep) -> Caller:
    """The caller of a route that reads or changes a job: under API_KEYS=required only
    the key or Mini App user that made the job gets past (others get the 404 of an
    unknown job).

    Raises:
        HTTPException: 401/403 (see `Guard.caller`), 404 (not the caller's job).
    """
    caller = await gate.caller()
    if services.settings.api_keys == "required":
        made_by = await services.jobs.client(task_id)
        if made_by is not None and made_by != caller.owner:
            raise HTTPException(404, f"no task {task_id}")
    return caller


OwnerDep = Annotated[Caller, Depends(owner)]


async def mini_app_user(request: Request, guard: GuardDep) -> WebAppUser:
    """The Mini App user of a call only they may make.

    Raises:
        HTTPException: 401 without valid initData.
    """
    return guard.require_user(request)


MiniAppUserDep = Annotated[WebAppUser, Depends(mini_app_user)]
