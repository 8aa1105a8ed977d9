"""Where jobs run: environment builds, launchers, agents and the in-job run context."""
