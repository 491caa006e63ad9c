"""End to end: real worker, bot and API processes over HTTP, the tiny models."""
