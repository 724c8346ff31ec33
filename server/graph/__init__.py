"""The knowledge-graph pipeline: IRIs and vocabulary, build, SHACL validation, HermiT reasoning,
provenance of contributions, and the descriptions (resource, pages, VoID) read from the store."""
