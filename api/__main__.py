"""`python -m api`: serve the HTTP API on API_HOST:API_PORT."""

from __future__ import annotations

import uvicorn

from api.app import create_app
from config import load_settings
from config.logs import setup_logging


def main() -> None:
    """Run uvicorn with the API application, logging as LOG_FORMAT says (uvicorn's own
    loggers included: it is told to keep its hands off the configuration)."""
    settings = load_settings()
    setup_logging(settings.log_level, settings.log_format)
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
