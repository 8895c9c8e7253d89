"""Decorate: the public decorators, a function's static facts, the wrappers, the per-call steps."""
