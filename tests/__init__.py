"""Tolmach's tests: unit, handler tier (`test_handlers`) and end to end; helpers beside them."""
