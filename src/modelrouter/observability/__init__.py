"""Observability (outer ring): Prometheus metrics, OpenTelemetry tracing,
decision and outcome event documents, and the sinks that publish them."""
