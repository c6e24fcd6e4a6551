"""Business rules: accounts, sign-in codes, cards, catalogue, prices, promotions, orders, payments."""
