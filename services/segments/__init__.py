"""Segments: the definition model, the feature catalog, the compiler, estimates and the library."""
