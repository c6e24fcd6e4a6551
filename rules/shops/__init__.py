"""Places to renew in person (carrier shops, partner stores, airport counters): their records, opening
hours in Hong Kong time, and each one's takings per Hong Kong day, closed once and settled."""
