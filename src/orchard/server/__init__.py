"""Orchard's HTTP server: the MLflow REST API (tracking, registry, artifacts) over the
services, for the stock `mlflow` client. `create_app` builds it."""
