-- The latest risk review's finding ("high" blocks an eligible sign-off without a reasoned override), and the request
-- that raised a safety flag, so a retried or corrected submission under the same Idempotency-Key raises no second
-- alert (a refused form raises one with no measure).
ALTER TABLE screening_cases ADD COLUMN risk_level text CHECK (risk_level IN ('low', 'moderate', 'high'));
ALTER TABLE risk_flags ADD COLUMN request_key text UNIQUE;
