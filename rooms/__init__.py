"""Live gathering rooms: persistence, the single command path, presence."""
