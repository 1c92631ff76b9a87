"""records layer."""
