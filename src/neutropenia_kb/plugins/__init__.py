"""Layer 5: the MkDocs and pytest plugins."""
