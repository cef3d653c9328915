-- Submission fingerprints become keyed (HMAC under a key derived from the field-encryption keys, `kid:mac`): an
-- unkeyed SHA-256 of a form let anyone with the database test guesses of what a known person submitted. The old
-- ones are forgotten; a fingerprint only spots an idempotency key reused for a different form.
UPDATE enquiries SET submission_fingerprint = NULL WHERE submission_fingerprint NOT LIKE '%:%';

-- The audit trail may only be read and added to by the service's runtime role (the migrator grants accordingly);
-- the trigger stops even the owner from changing it.
COMMENT ON TABLE audit_log IS 'append-only';
