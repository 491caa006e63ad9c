"""The `tolmach` command: `main` parses its arguments and hands each subcommand to its
module (`run`, `translate`, `models`, `keys`); `launcher` and `supervise` are how
`tolmach run` starts and watches its services."""
