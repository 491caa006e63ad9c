"""Real aiogram routers, sessions and the Bot API emulator, in-process: no worker."""
