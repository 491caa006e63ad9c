"""Inline mode (`@bot en>ru text`): `flow` debounces, queues and answers each query once."""
