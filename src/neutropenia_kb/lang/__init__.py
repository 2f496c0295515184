"""Layer 2: the condition language: parser and type/unit checker."""
