"""Orders: their states and moves, prices and start dates, adding the data, receipts, guest top-ups."""
