"""Background jobs: the loops that drive use cases from a timer or a queue.

``periodic`` and ``consuming`` hold the two loops (a timer that ticks, a queue consumer
with a bounded prefetch); each job fills in one step. Every worker process runs every
job: rows are claimed with ``SKIP LOCKED`` and deliveries are idempotent, so N workers
never do one job's work twice.
"""
