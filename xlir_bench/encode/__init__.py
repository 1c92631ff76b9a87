"""encode layer."""
