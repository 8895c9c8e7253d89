"""The span tree: the live span, the current span's context, the manual API, ids, OTel bridge."""
