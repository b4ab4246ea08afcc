-- The availability read model's change counter: a zone's version is SUM(version) over its
-- shards, bumped in the same transaction as any change to one of its seats (just before
-- COMMIT, after the seat rows are locked, so it adds no new lock-order edge). Shards
-- (CONNECTION_ID() % 16) keep concurrent writers of one zone off a single hot row; each
-- only grows, so the sum only grows. A missing row counts as 0 (the bump inserts it).
CREATE TABLE zone_versions (
    concert_id BIGINT NOT NULL,
    zone_id    BIGINT NOT NULL,
    shard      TINYINT UNSIGNED NOT NULL,
    version    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (concert_id, zone_id, shard)
) ENGINE=InnoDB;
