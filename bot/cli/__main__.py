"""`python -m bot.cli`: the `tolmach` command."""

import sys

from bot.cli.main import main

sys.exit(main())
