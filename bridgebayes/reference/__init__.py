"""reference layer (see ARCHITECTURE.md)."""
