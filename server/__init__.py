"""Entente: publishes one news article as an evidence-backed linked-data knowledge graph."""

__version__ = "1.0.0"
