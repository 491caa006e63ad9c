"""`python -m api`: serve the HTTP API on API_HOST:API_PORT."""

from __future__ import annotations

import ipaddress
import logging
import re
import sys

import uvicorn

from api.app import create_app
from config import Settings, load_settings
from config.logs import setup_logging

# Query parameters whose values are secrets: never written to the access log.
_SECRET_PARAMS = re.compile(r"(?i)([?&](?:api_key|auth_key|token|init_data|document_key)=)[^&\s]*")


class RedactSecrets(logging.Filter):
    """Blanks API keys and tokens in uvicorn's access lines (`?api_key=…`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _SECRET_PARAMS.sub(r"\1***", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True


def exposed_without_keys(settings: Settings) -> bool:
    """The API binds an address other hosts reach, and anyone may call it."""
    if settings.api_keys != "off":
        return False
    try:
        return not ipaddress.ip_address(settings.api_host).is_loopback
    except ValueError:  # a host name: "localhost" is the only loopback one we know
        return settings.api_host != "localhost"


def main() -> None:
    """Run uvicorn with the API application, logging as LOG_FORMAT says (uvicorn's own
    loggers included: it is told to keep its hands off the configuration)."""
    settings = load_settings()
    setup_logging(settings.log_level, settings.log_format)
    logging.getLogger("uvicorn.access").addFilter(RedactSecrets())
    if exposed_without_keys(settings):
        print(
            f"warning: the HTTP API listens on {settings.api_host} with API_KEYS=off: "
            "anyone who reaches this address can use it (set API_KEYS=required and "
            "`tolmach keys add`, or bind 127.0.0.1)",
            file=sys.stderr,
        )
    trusted = settings.forwarded_allow_ips
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,
        timeout_graceful_shutdown=10,
        # X-Forwarded-For moves a client's address (its rate bucket) only when it comes
        # from a proxy the operator named.
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or None,
    )


if __name__ == "__main__":
    main()
