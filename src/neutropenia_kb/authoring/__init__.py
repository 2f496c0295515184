"""Layer 4: authoring tools: clinical change report (diff), scaffolding (nkb new)."""
