"""`python -m cli`: the `tolmach` command."""

import sys

from cli.main import main

sys.exit(main())
