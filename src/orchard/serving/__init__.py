"""Online endpoints: scoring workers, the router in front of them, and the host that
supervises both.

`worker` serves one instance of a deployment (Azure's scoring routes; `scoring` runs a
scoring script, `mlflow_scoring` an MLflow model); `router` and `traffic` are the
endpoint's front (keys, traffic split, mirroring, retries, metrics); `host` is the process
per endpoint that runs the router and keeps each deployment's workers (`instances`,
`deployment_files`) in line with the store; `launch` starts and finds hosts.
"""
