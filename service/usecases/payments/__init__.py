"""Paying for a reservation: start, confirm, webhooks and reconciliation, one settle path.

The confirm call (``confirm``), webhooks (``webhooks``) and the reconciler (``reconcile``)
all learn a payment's state from the provider and hand it to ``settle.settle_observation``,
which applies it in one unit of work under the reservation's lock through the domain's
state machine (``domain.payments.settle``): stale news is ignored, a DONE payment confirms
an unpaid, unexpired reservation and sells its seats, and any other capture is refunded at
the provider — after the commit, because a provider call must never run while rows are
locked. That unit of work runs at READ COMMITTED and reads the clock only once it holds
the locks, so what it decides on is the reservation as the previous lock holder (an
expiry, another payment) left it. A refund that fails stays owed (``settled = 0``) and the
reconciler tries again, so a capture is always refunded.

The amount always comes from the reservation. Provider trouble never surfaces as a 500:
a refusal is a 4xx naming Toss's code, a provider that cannot be reached a 503, and a
confirm whose outcome is unknown (timeout, 5xx) is first checked with a GET and otherwise
answered 202 "pending" for the webhook or the reconciler to settle.
"""
