"""Developer tools that drive the suite from outside (the year simulator)."""
