-- +goose Up
-- Corrections by re-import: an imported event counts its corrections
-- (revision), a row can be "changed", a run counts its changed events, and
-- the admwriter records each correction it applied so a redelivered
-- tutorial.event.changed is applied once.
ALTER TABLE admsync.import_events ADD COLUMN revision integer NOT NULL DEFAULT 0;
ALTER TABLE admsync.import_runs ADD COLUMN changed_events integer NOT NULL DEFAULT 0;
ALTER TABLE admsync.import_rows DROP CONSTRAINT IF EXISTS import_rows_status_check;
ALTER TABLE admsync.import_rows ADD CONSTRAINT import_rows_status_check
    CHECK (status IN ('accepted', 'rejected', 'duplicate', 'changed'));

CREATE TABLE adm.event_changes (
    tutorial_event_id bigint NOT NULL REFERENCES acted.tutorial_events (id) ON DELETE CASCADE,
    revision          integer NOT NULL,
    import_run_id     bigint NULL,
    calls             integer NOT NULL DEFAULT 0,
    applied_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tutorial_event_id, revision)
);

-- +goose StatementBegin
DO $$
BEGIN
    IF (SELECT count(*) FROM pg_roles WHERE rolname IN ('admsync_syncer', 'admsync_importer', 'admsync_admwriter')) <> 3 THEN
        RETURN;
    END IF;
    -- The importer corrects the rows it imported: event and session fields,
    -- and a session's instructors (removing those the workbook no longer names).
    GRANT UPDATE ON acted.tutorial_events, acted.tutorial_sessions TO admsync_importer;
    GRANT DELETE ON acted.tutorial_session_instructors TO admsync_importer;
    GRANT SELECT ON adm.event_changes TO admsync_syncer, admsync_importer, admsync_admwriter;
    GRANT INSERT ON adm.event_changes TO admsync_admwriter;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP TABLE adm.event_changes;
ALTER TABLE admsync.import_rows DROP CONSTRAINT import_rows_status_check;
ALTER TABLE admsync.import_rows ADD CONSTRAINT import_rows_status_check
    CHECK (status IN ('accepted', 'rejected', 'duplicate'));
ALTER TABLE admsync.import_runs DROP COLUMN changed_events;
ALTER TABLE admsync.import_events DROP COLUMN revision;
