-- The outbox keeps each event as the exact bytes that go to Kafka: serialised once when written, sent as stored
-- (a jsonb column re-encoded every event on the way in and again on the way out).
ALTER TABLE outbox ALTER COLUMN envelope TYPE bytea USING convert_to(envelope::text, 'UTF8');
