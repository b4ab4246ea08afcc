-- A payment settled after its reservation's expiry expires the reservation itself (the
-- expiry consumer was late); it is recorded as 'payment', not passed off as the sweeper's.
ALTER TABLE holds MODIFY released_by
    ENUM('consumer', 'sweeper', 'member', 'conversion', 'payment') NULL
