"""What staff do: their accounts, actions on orders, refunds and requests, counter payments, search, exports."""
