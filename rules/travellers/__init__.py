"""Travellers and their cards: accounts and sign-in codes, binding cards, usage, forecasts, reminders."""
