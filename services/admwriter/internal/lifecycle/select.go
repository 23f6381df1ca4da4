// Package lifecycle is what the admwriter does to events after an import:
// list them with their Administrate state, publish them, switch web sale and
// sold out, add their prices and delete drafts of a mistaken import. Only
// events this system created (an adm.events bridge with an Administrate id)
// are ever selected. Plan decides per event what would change from one bulk
// read; the CLI publishes one event.command.<action> per event to change, and
// Handler (the admwriter serve runner's second consumer) applies it with the
// common failure policy and answers on event.result.<run id>, the writes of
// the commands in flight sharing requests (batcher.go).
package lifecycle

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Selection chooses events; empty fields do not filter.
type Selection struct {
	Sitting     string
	ImportRunID int64
	// Code matches the tutorial event code (ILIKE: % and _ are wildcards).
	Code string
}

// Event is one event this system created in Administrate.
type Event struct {
	ID                 int64  `json:"event_id"` // adm.events.id
	AdmEventID         string `json:"adm_event_id"`
	Code               string `json:"code"`
	Title              string `json:"title"`
	Sitting            string `json:"sitting"`
	ImportRunID        int64  `json:"import_run_id"`
	CourseTemplateCode string `json:"course_template_code"`
}

// Select returns the events of s that this system created and did not delete,
// in import order.
func Select(ctx context.Context, pool *pgxpool.Pool, s Selection) ([]Event, error) {
	rows, err := pool.Query(ctx, `
SELECT e.id, e.external_id, coalesce(te.code, ''), ie.title, ie.sitting, ie.import_run_id, ie.course_template_code
FROM adm.events e
JOIN admsync.import_events ie ON ie.tutorial_event_id = e.tutorial_event_id
JOIN acted.tutorial_events te ON te.id = e.tutorial_event_id
WHERE e.external_id IS NOT NULL AND e.deleted_at IS NULL
  AND ($1 = '' OR ie.sitting = $1)
  AND ($2 = 0 OR ie.import_run_id = $2)
  AND ($3 = '' OR te.code ILIKE $3)
ORDER BY ie.import_run_id, ie.excel_row`, strings.TrimSpace(s.Sitting), s.ImportRunID, strings.TrimSpace(s.Code))
	if err != nil {
		return nil, fmt.Errorf("select events: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Event, error) {
		var e Event
		return e, r.Scan(&e.ID, &e.AdmEventID, &e.Code, &e.Title, &e.Sitting, &e.ImportRunID, &e.CourseTemplateCode)
	})
	if err != nil {
		return nil, fmt.Errorf("select events: %w", err)
	}
	return out, nil
}

// TemplatePrice is one price level's amount on a course template (adm bridges).
type TemplatePrice struct {
	PriceLevelID, PriceLevelName, Amount string
}

// TemplatePrices returns each course template's prices per price level, by
// lower-cased template code, from the syncer's bridges.
func TemplatePrices(ctx context.Context, pool *pgxpool.Pool) (map[string][]TemplatePrice, error) {
	rows, err := pool.Query(ctx, `
SELECT lower(ct.code), pl.external_id, pl.name, ctp.amount::text
FROM adm.course_template_price_levels ctp
JOIN adm.course_templates ct ON ct.id = ctp.course_template_id
JOIN adm.pricelevels pl ON pl.id = ctp.price_level_id
WHERE ctp.gone_at IS NULL AND ct.gone_at IS NULL AND pl.gone_at IS NULL AND ct.code IS NOT NULL
ORDER BY ct.code, pl.name`)
	if err != nil {
		return nil, fmt.Errorf("course template prices: %w", err)
	}
	defer rows.Close()
	out := map[string][]TemplatePrice{}
	for rows.Next() {
		var code string
		var p TemplatePrice
		if err := rows.Scan(&code, &p.PriceLevelID, &p.PriceLevelName, &p.Amount); err != nil {
			return nil, fmt.Errorf("course template prices: %w", err)
		}
		out[code] = append(out[code], p)
	}
	return out, rows.Err()
}

// PriceLevel resolves a price level given by name or id (adm.pricelevels).
func PriceLevel(ctx context.Context, pool *pgxpool.Pool, nameOrID string) (id, name string, err error) {
	err = pool.QueryRow(ctx, `
SELECT external_id, name FROM adm.pricelevels
WHERE gone_at IS NULL AND (external_id = $1 OR lower(name) = lower($1))
ORDER BY external_id = $1 DESC LIMIT 1`, nameOrID).Scan(&id, &name)
	if err == pgx.ErrNoRows {
		return "", "", fmt.Errorf("price level %q is not in adm.pricelevels: run `syncer run price-levels` or check the name", nameOrID)
	}
	if err != nil {
		return "", "", fmt.Errorf("price level %q: %w", nameOrID, err)
	}
	return id, name, nil
}

// AddedPrices returns the (price level, currency) pairs already added to each
// event (adm.event_prices), by event id.
func AddedPrices(ctx context.Context, pool *pgxpool.Pool, eventIDs []int64) (map[int64]map[[2]string]bool, error) {
	rows, err := pool.Query(ctx, `SELECT event_id, price_level_id, currency_id FROM adm.event_prices WHERE event_id = ANY($1)`, eventIDs)
	if err != nil {
		return nil, fmt.Errorf("event prices: %w", err)
	}
	defer rows.Close()
	out := map[int64]map[[2]string]bool{}
	for rows.Next() {
		var id int64
		var pl, cur string
		if err := rows.Scan(&id, &pl, &cur); err != nil {
			return nil, fmt.Errorf("event prices: %w", err)
		}
		if out[id] == nil {
			out[id] = map[[2]string]bool{}
		}
		out[id][[2]string{pl, cur}] = true
	}
	return out, rows.Err()
}

// WebSaleKey returns the definition key of the Event custom field "Web sale".
func WebSaleKey(ctx context.Context, pool *pgxpool.Pool) (string, error) {
	var key string
	err := pool.QueryRow(ctx, `
SELECT external_id FROM adm.custom_fields
WHERE entity_type = 'Event' AND lower(label) = 'web sale' AND gone_at IS NULL LIMIT 1`).Scan(&key)
	if err == pgx.ErrNoRows {
		return "", fmt.Errorf("the Event custom field \"Web sale\" is not in adm.custom_fields: run `syncer run custom-fields`")
	}
	if err != nil {
		return "", fmt.Errorf("web sale custom field: %w", err)
	}
	return key, nil
}

// recordPrice stores a price Administrate holds for an event (admPriceID ""
// when it answered that the price was already there).
func recordPrice(ctx context.Context, pool *pgxpool.Pool, eventID int64, pl, cur, amount, admPriceID string) error {
	_, err := pool.Exec(ctx, `
INSERT INTO adm.event_prices (event_id, price_level_id, currency_id, amount, adm_price_id)
VALUES ($1, $2, $3, $4::numeric, nullif($5, ''))
ON CONFLICT (event_id, price_level_id, currency_id) DO NOTHING`, eventID, pl, cur, amount, admPriceID)
	if err != nil {
		return fmt.Errorf("record event price: %w", err)
	}
	return nil
}

// markDeleted marks an event's bridge deleted (it stays done, so nothing
// recreates the event).
func markDeleted(ctx context.Context, pool *pgxpool.Pool, eventID int64) error {
	_, err := pool.Exec(ctx, `UPDATE adm.events SET deleted_at = coalesce(deleted_at, now()), updated_at = now() WHERE id = $1`, eventID)
	if err != nil {
		return fmt.Errorf("mark event bridge deleted: %w", err)
	}
	return nil
}
