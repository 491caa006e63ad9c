"""Inline mode (`@bot en>ru text`): `flow` debounces and queues each query, `answers`
gathers its targets' results and answers it once."""
