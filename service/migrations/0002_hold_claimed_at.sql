-- When a hold actually took its seats: stamped by the database inside the claim
-- transaction, after the seat rows were written (so after any lock wait). created_at is
-- the request's clock, before the wait. The lab's double-booking check needs the former.
ALTER TABLE holds ADD COLUMN claimed_at DATETIME(6) NULL AFTER created_at
