-- Remaining seats per zone are counted on every zone listing: with (concert_id, status,
-- zone_id) the count is answered from the index alone (measured on the 43,000-seat venue:
-- 33 ms with the old index, 8-12 ms with this one).
ALTER TABLE seats ADD KEY ix_seats_availability (concert_id, status, zone_id)
