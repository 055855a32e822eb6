"""The HTTP API (FastAPI): routing, outcomes, decisions, policies, catalog, health."""
