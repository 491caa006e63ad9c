"""The `tolmach` command (`main`) and how `tolmach run` starts and watches its services
(`launcher`, `supervise`)."""
