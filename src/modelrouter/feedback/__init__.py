"""What attempts teach: error classes, rate-limit headers, circuits, latency, headroom."""
