"""Layer 3: checks on the built model (rules, readability, review) and the full validation."""
