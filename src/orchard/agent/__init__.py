"""Agents run jobs: prepare the environment and working folder, run the command,
collect what it produced, and keep the job's state true while doing so."""
