-- Where each dose came from, for the controlled-drugs register (docs/clinical-rules.md §8): the register's product
-- code, the batch and, for a solution, the volume drawn up.
ALTER TABLE dosing_sessions
    ADD COLUMN supply_product         text,
    ADD COLUMN supply_batch           text,
    ADD COLUMN supply_volume_drawn_ml numeric(6, 2);
