"""Pipeline jobs: checking the step graph, planning each step's job, reuse keys."""
