"""Runtime: configuration, lifecycle, the hot-path state, internal errors."""
