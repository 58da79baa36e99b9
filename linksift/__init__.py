"""linksift: tells good backlinks from spam."""
