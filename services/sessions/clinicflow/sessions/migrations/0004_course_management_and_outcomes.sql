-- Courses as clinics run them (docs/clinical-rules.md §4-5): a plan a doctor may change (extend, maintenance), stop
-- with a coded reason, a non-response review; outcomes on every instrument the client was screened on; the team
-- in the room; what happened at integration.
ALTER TABLE courses DROP CONSTRAINT courses_status_check;
ALTER TABLE courses ADD CONSTRAINT courses_status_check
    CHECK (status IN ('active', 'completed', 'withdrawn', 'stopped'));
ALTER TABLE courses
    ADD COLUMN baselines                 jsonb   NOT NULL DEFAULT '{}',
    ADD COLUMN phase                     text    NOT NULL DEFAULT 'acute' CHECK (phase IN ('acute', 'maintenance')),
    ADD COLUMN maintenance_interval_days integer,
    ADD COLUMN stopped_by                text,
    ADD COLUMN review_due_at             timestamptz,
    ADD COLUMN reviewed_by               text,
    ADD COLUMN reviewed_at               timestamptz,
    ADD COLUMN review_decision           text;
UPDATE courses SET baselines = jsonb_build_object('phq9', baseline_phq9) WHERE baseline_phq9 IS NOT NULL;
ALTER TABLE courses DROP COLUMN baseline_phq9, DROP COLUMN latest_phq9;
ALTER TABLE courses RENAME COLUMN withdrawn_reason TO ended_reason;

-- Every follow-up measure screening reports for the course's client: the trajectory of each instrument.
CREATE TABLE course_measures (
    measure_id    uuid        PRIMARY KEY,
    course_id     uuid        NOT NULL REFERENCES courses (id),
    instrument    text        NOT NULL,
    total         integer     NOT NULL,
    measured_at   timestamptz NOT NULL,
    after_session integer     NOT NULL
);
CREATE INDEX course_measures_by_course ON course_measures (course_id, measured_at);

-- Each change to a course's plan, by whom and why (stop reasons are codes; no free text).
CREATE TABLE course_plan_changes (
    id               bigserial   PRIMARY KEY,
    course_id        uuid        NOT NULL REFERENCES courses (id),
    change           text        NOT NULL CHECK (change IN ('planned', 'maintenance', 'stopped')),
    planned_sessions integer     NOT NULL,
    reason           text,
    changed_by       text        NOT NULL,
    rule_set_version text        NOT NULL,
    at               timestamptz NOT NULL
);

-- Each ended course's figures per instrument, as the rules in force then worked them out: cohort outcomes. Stopped
-- courses are kept beside completed ones, so a cohort's rates are not flattered by leaving out those who stopped.
CREATE TABLE course_outcomes (
    course_id        uuid    NOT NULL REFERENCES courses (id),
    ended_as         text    NOT NULL CHECK (ended_as IN ('completed', 'stopped')),
    instrument       text    NOT NULL,
    baseline         integer NOT NULL,
    final            integer NOT NULL,
    response         boolean,
    remission        boolean,
    rule_set_version text    NOT NULL,
    PRIMARY KEY (course_id, instrument)
);

ALTER TABLE dosing_sessions
    ADD COLUMN supervising_doctor text,
    ADD COLUMN monitoring_nurse   text,
    ADD COLUMN therapist          text,
    ADD COLUMN therapy_themes     text[] NOT NULL DEFAULT '{}',
    ADD COLUMN therapy_concerns   text[] NOT NULL DEFAULT '{}';

ALTER TABLE integrations
    ADD COLUMN attended         boolean,
    ADD COLUMN themes           text[] NOT NULL DEFAULT '{}',
    ADD COLUMN concerns         text[] NOT NULL DEFAULT '{}',
    ADD COLUMN risk_flag        boolean NOT NULL DEFAULT false,
    ADD COLUMN risk_reviewed_by text,
    ADD COLUMN risk_reviewed_at timestamptz,
    ADD COLUMN risk_level       text CHECK (risk_level IN ('low', 'moderate', 'high'));

-- A flag's reason (screening's item 9, a therapist at integration), for the hold's message.
ALTER TABLE risk_findings ADD COLUMN reason text;
