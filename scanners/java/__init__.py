"""Java serialization streams: identified, and reported as not analysed."""
