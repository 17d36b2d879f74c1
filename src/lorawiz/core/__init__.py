"""Everything that is not UI. Never imports textual or rich (a test enforces it)."""
