"""The engine: the compiled form of the rules (program.py) and its backends."""
