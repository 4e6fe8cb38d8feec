"""Face regions: named anatomical ones and arbitrary boxes, each with the AUs it can show."""
