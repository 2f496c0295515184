"""Layer 1: the knowledge base: YAML loading, schema/reference/text validation, the model."""
