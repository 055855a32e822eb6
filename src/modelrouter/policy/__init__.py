"""Policy: platform and tenant documents, their narrowing meet, explanations
of what a tenant overlay could not widen, and budget windows."""
