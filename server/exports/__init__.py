"""Exports: the graph in the formats other ecosystems read (OpenRefine reconciliation, W3C Web Annotation,
nanopublications, QuickStatements, a diff and link check against Wikidata). One module per format,
each a set of plain functions over `dataset.Data`; no Flask here (the routes live with the web app)."""
