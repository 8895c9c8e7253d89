"""Export: the bounded queue, the worker thread, and the lifecycle (flush, shutdown, fork)."""
