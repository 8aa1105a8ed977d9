"""The MLflow REST API: one router per route family, the error shape, request parsing."""
