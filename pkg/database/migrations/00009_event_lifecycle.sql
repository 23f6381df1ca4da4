-- +goose Up
-- The admwriter's `events` commands (publish, web sale, sold out, prices,
-- delete-drafts). A draft deleted in Administrate keeps its bridge row, marked
-- with deleted_at: the row stays `done`, so neither a redelivered
-- tutorial.event.created nor `admwriter retry` creates the event again.
ALTER TABLE adm.events ADD COLUMN deleted_at timestamptz NULL;

-- The prices this system added to each event (one per price level and
-- financial unit, as Administrate keeps them). A row is written once
-- Administrate answered, or said the price was already there (adm_price_id
-- NULL then), so a second `events prices add` plans nothing.
CREATE TABLE adm.event_prices (
    event_id        bigint NOT NULL REFERENCES adm.events (id) ON DELETE CASCADE,
    price_level_id  varchar(255) NOT NULL,
    currency_id     varchar(255) NOT NULL,
    amount          numeric(12, 2) NOT NULL,
    adm_price_id    varchar(255) NULL,
    added_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, price_level_id, currency_id)
);

-- +goose StatementBegin
DO $$
BEGIN
    IF (SELECT count(*) FROM pg_roles WHERE rolname IN ('admsync_syncer', 'admsync_importer', 'admsync_admwriter')) <> 3 THEN
        RETURN;
    END IF;
    GRANT SELECT ON adm.event_prices TO admsync_syncer, admsync_importer, admsync_admwriter;
    GRANT INSERT, UPDATE ON adm.event_prices TO admsync_admwriter;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'admsync: cannot grant the event price bridge, leave it to the DBA';
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP TABLE adm.event_prices;
ALTER TABLE adm.events DROP COLUMN deleted_at;
