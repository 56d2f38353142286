"""Constructs that read like the picture in DESIGN.md: storage, function, triggers, API, observability."""
