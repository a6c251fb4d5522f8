"""plots layer (see ARCHITECTURE.md)."""
