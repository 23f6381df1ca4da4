// Package server is `syncer serve`: a durable JetStream consumer that runs
// the sync stage named by each sync.request.<stage> message (or all of
// them), one run at a time, and publishes the structured result on
// sync.result.<stage> (and sync.result.all for a run of all stages).
package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"admsync/pkg/messaging"
	"admsync/services/syncer/internal/syncer"
)

// Request is the optional JSON body of a sync request; an empty body means
// the defaults. Runs from messages never prompt.
type Request struct {
	PageSize   int  `json:"page_size"`
	Plan       bool `json:"plan"`
	Debug      bool `json:"debug"`
	SkipErrors bool `json:"skip_errors"`
	ForceGone  bool `json:"force_gone"`
	// NoPrompt is accepted for symmetry with the CLI; service runs never prompt.
	NoPrompt bool `json:"no_prompt"`
	// The events stage (sync.request.events, or all with with_events).
	Sitting    string `json:"sitting"`
	Adopt      bool   `json:"adopt"`
	Conflicts  string `json:"conflicts"`
	WithEvents bool   `json:"with_events"`
}

// ParseRequest reads the stage from the subject (sync.request.<stage>, Django
// spellings accepted) and the options from the body.
func ParseRequest(subject string, body []byte) (string, syncer.Options, error) {
	var opts syncer.Options
	tok, ok := strings.CutPrefix(subject, messaging.SubjectSyncRequestPrefix)
	if !ok || tok == "" || strings.Contains(tok, ".") {
		return "", opts, fmt.Errorf("subject %q is not sync.request.<stage>", subject)
	}
	stage, err := syncer.ParseStage(tok)
	if err != nil {
		return "", opts, err
	}
	req := Request{PageSize: syncer.DefaultPageSize}
	if b := bytes.TrimSpace(body); len(b) > 0 {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return "", opts, fmt.Errorf("request body: want JSON such as {\"page_size\": 100, \"plan\": false, \"skip_errors\": false}: %w", err)
		}
	}
	if req.PageSize == 0 {
		req.PageSize = syncer.DefaultPageSize
	}
	if req.PageSize < 1 || req.PageSize > 500 {
		return "", opts, fmt.Errorf("page_size %d: want 1 to 500", req.PageSize)
	}
	if err := syncer.ValidConflicts(req.Conflicts); err != nil {
		return "", opts, err
	}
	opts = syncer.Options{NoPrompt: true, Debug: req.Debug, Plan: req.Plan, SkipErrors: req.SkipErrors,
		ForceGone: req.ForceGone, PageSize: req.PageSize, Sitting: req.Sitting, Adopt: req.Adopt,
		Conflicts: req.Conflicts, WithEvents: req.WithEvents}
	return stage, opts, nil
}

// Handler runs sync requests.
type Handler struct {
	Pool    *pgxpool.Pool
	JS      jetstream.JetStream
	Metrics *syncer.Metrics
	Logger  *slog.Logger
	// Source reads from and creates in Administrate; each run pages with its
	// own page size.
	Source SourceCreator
	// MaxPayload caps a result message (the server's max_payload); results
	// larger than it are shortened.
	MaxPayload int
}

// SourceCreator is an Administrate source that can also create records.
type SourceCreator interface {
	syncer.Source
	syncer.Creator
}

// Handle is a messaging.Handler: it acks once the result is published, also
// when the stage failed (the result says why; a retry would fail the same
// way), and retries only when the result could not be published.
func (h *Handler) Handle(ctx context.Context, msg jetstream.Msg) error {
	stage, opts, err := ParseRequest(msg.Subject(), msg.Data())
	if err != nil {
		return messaging.Malformed(err)
	}
	src := h.Source
	log := h.Logger.With("stage", stage, "subject", msg.Subject())
	var out io.Writer = io.Discard
	if opts.Debug {
		out = &lineLogger{log: log}
	}
	r := &syncer.Runner{Pool: h.Pool, Source: src, Creator: src, Out: out, Logger: h.Logger, Metrics: h.Metrics}
	if stage == syncer.All {
		all, runErr := r.RunAll(ctx, opts)
		if err := ctx.Err(); err != nil {
			return err // shutting down mid-run: redeliver
		}
		for i := range all.Stages {
			s := &all.Stages[i]
			if err := h.publish(ctx, messaging.SubjectSyncResultPrefix+s.Stage, fmt.Sprintf("sync-result-%d", s.RunID), s); err != nil {
				return err
			}
		}
		if err := h.publish(ctx, messaging.SubjectSyncResultPrefix+syncer.All, fmt.Sprintf("sync-result-%d", all.RunID), all); err != nil {
			return err
		}
		log.Info("sync request done", "outcome", all.Outcome, "error", errString(runErr))
		return nil
	}
	res, runErr := r.RunStage(ctx, stage, opts)
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := h.publish(ctx, messaging.SubjectSyncResultPrefix+stage, fmt.Sprintf("sync-result-%d", res.RunID), res); err != nil {
		return err
	}
	log.Info("sync request done", "outcome", res.Outcome, "error", errString(runErr))
	return nil
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// compactable results can shrink to fit a message.
type compactable interface{ Compact(keep int) }

func (h *Handler) publish(ctx context.Context, subject, msgID string, v compactable) error {
	body, err := json.Marshal(v)
	if err != nil {
		return messaging.Permanent(fmt.Errorf("encode result: %w", err))
	}
	limit := h.MaxPayload
	if limit <= 0 {
		limit = 1 << 20
	}
	for keep := 100; len(body) > limit-1024 && keep >= 0; keep /= 10 {
		v.Compact(keep)
		if body, err = json.Marshal(v); err != nil {
			return messaging.Permanent(fmt.Errorf("encode result: %w", err))
		}
		if keep == 0 {
			break
		}
	}
	if _, err := h.JS.Publish(ctx, subject, body, jetstream.WithMsgID(msgID)); err != nil {
		return fmt.Errorf("publish %s: %w", subject, err)
	}
	return nil
}

// lineLogger turns report lines into log records (serve --debug requests).
type lineLogger struct {
	mu  sync.Mutex
	buf []byte
	log *slog.Logger
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		if line := strings.TrimSpace(string(l.buf[:i])); line != "" {
			l.log.Info("sync report", "line", line)
		}
		l.buf = l.buf[i+1:]
	}
}
