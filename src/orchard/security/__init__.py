"""Security: the workspace master key and encryption of secrets at rest."""
