"""City-case governance: cases, their lifecycle, routing, deadlines, Open311 and statistics."""
