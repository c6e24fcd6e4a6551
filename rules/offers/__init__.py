"""What is on sale: plans, promotions and the catalogue's version."""
