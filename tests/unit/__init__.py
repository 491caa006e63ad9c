"""Pure functions and in-process pieces (a real redis-server at most): no worker, bot or API."""
