"""Business rules: accounts, sign-in codes, cards, catalogue, prices, promotions, orders, payments.

One lock order for every writer (checkout, notification, return page, jobs, staff, counter), so two
of them never wait on each other in a circle:

    location → account → order → promotion → refund request → refund → card → card pack → SMS outbox
    → location day

A counter payment holds its location FOR SHARE (an edit or a close of the location waits) and adds to
its location day last; closing a day and editing a location take nothing else (rules.shops.takings).

A writer may skip any of these, never go back up: nothing locks or updates an account row after an
order row (the database has no trigger that would do it behind the writer's back: tests/test_lock_order).
A writer that reaches a later row before its order's (a staff refund, a refund request's approval)
takes the order first (orders.lock). Rows of one table are locked in id order, in one statement where
there are several (card binding).
The checkout locks its account FOR NO KEY UPDATE: a payment's foreign-key KEY SHARE lock on the account,
taken while it holds the order, never makes the checkout wait.
A change to an order is a conditional UPDATE naming the state it expects (orders.transition,
orders._restart, payment_events.apply_paid, staff refunds): zero rows means someone else got there.

No lock or open write is held across a call to another company (Alipay, the carrier, the SMS
provider): claim the row and commit, call, then record the outcome in a new short transaction,
again conditional (gateways.sms.send_now is the pattern).
"""
