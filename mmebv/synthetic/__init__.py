"""Small synthetic datasets written to disk, for tests and the demo."""
