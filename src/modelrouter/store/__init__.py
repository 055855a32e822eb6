"""Persistence: decisions, outcomes, tenant and platform policies, catalog
versions and budget ledgers, in SQLite by default and PostgreSQL in production.
The core never imports this package."""
