// Package server imports workbooks handed over through NATS: a workbook is
// put into the "workbooks" object store, and a message on
// import.request.<id> names it; the result is published on
// import.result.<id>. Requests are idempotent: a redelivered request
// re-imports the workbook, and every event it already wrote is skipped as a
// duplicate.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"admsync/pkg/messaging"
	"admsync/pkg/outbox"
	"admsync/services/importer/internal/pipeline"
	"admsync/services/importer/internal/workbook"
)

// Request is the body of an import.request.<id> message. A plain-text body
// is taken as the object name, and an empty body means the object is named
// like the request id.
type Request struct {
	Object string `json:"object"`
	DryRun bool   `json:"dry_run,omitempty"`
}

// Result is published on import.result.<id>.
type Result struct {
	RequestID string            `json:"request_id"`
	Object    string            `json:"object"`
	Status    string            `json:"status"` // imported, rejected (some events rejected), refused (not importable), failed
	Error     string            `json:"error,omitempty"`
	Summary   *pipeline.Summary `json:"summary,omitempty"`
}

// Server handles import requests.
type Server struct {
	Pool    *pgxpool.Pool
	JS      jetstream.JetStream
	Limits  workbook.Limits
	Metrics *pipeline.Metrics
	Logger  *slog.Logger
}

// Handle is the messaging.Handler for the importer consumer.
func (s *Server) Handle(ctx context.Context, msg jetstream.Msg) error {
	id := strings.TrimPrefix(msg.Subject(), messaging.SubjectImportRequestPrefix)
	req, err := parseRequest(msg.Data(), id)
	// A requester that sends a traceparent header gets the import in its trace.
	ctx = outbox.ExtractNATS(ctx, msg.Headers())
	log := s.Logger.With("request_id", id)
	if err != nil {
		// Malformed, like in every service: dead-lettered with the reason.
		// The requester still gets an answer on import.result.<id>.
		if perr := s.publish(ctx, Result{RequestID: id, Status: "refused", Error: err.Error()}); perr != nil {
			return perr
		}
		return messaging.Malformed(err)
	}
	res := Result{RequestID: id, Object: req.Object}
	out, err := s.importObject(ctx, req, id)
	var fe *workbook.FileError
	switch {
	case errors.As(err, &fe):
		res.Status, res.Error = "refused", fe.Error()
	case messaging.IsPermanent(err):
		// The request can never succeed (no such object, too large, data the
		// database itself refuses): the result says so and the request is
		// done; retrying or dead-lettering would change nothing.
		log.Error("import refused", "object", req.Object, "error", err)
		res.Status, res.Error = "refused", err.Error()
	case err != nil:
		// Database or NATS trouble: let the runner retry with backoff.
		log.Warn("import failed; will retry", "object", req.Object, "error", err)
		return err
	default:
		res.Summary = out.Summary
		res.Status = "imported"
		if out.Summary.RunID != 0 {
			log = log.With("import_run_id", out.Summary.RunID)
		}
		if out.Summary.Failed() {
			res.Status = "rejected"
		}
	}
	log.Info("import request handled", "object", req.Object, "status", res.Status)
	return s.publish(ctx, res)
}

func parseRequest(data []byte, id string) (Request, error) {
	var req Request
	body := strings.TrimSpace(string(data))
	switch {
	case body == "":
		req.Object = id
	case strings.HasPrefix(body, "{"):
		if err := json.Unmarshal(data, &req); err != nil {
			return req, fmt.Errorf("the request body is not valid JSON: %w", err)
		}
	default:
		req.Object = body
	}
	if req.Object == "" {
		return req, errors.New(`the request names no object: send {"object": "<name in bucket workbooks>"}`)
	}
	return req, nil
}

func (s *Server) importObject(ctx context.Context, req Request, requestID string) (*pipeline.Outcome, error) {
	store, err := s.JS.ObjectStore(ctx, messaging.BucketWorkbooks)
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", messaging.BucketWorkbooks, err)
	}
	info, err := store.GetInfo(ctx, req.Object)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, messaging.Permanent(fmt.Errorf("no object %q in bucket %s", req.Object, messaging.BucketWorkbooks))
	}
	if err != nil {
		return nil, fmt.Errorf("look up %s: %w", req.Object, err)
	}
	lim := s.Limits
	max := lim.MaxFileBytes
	if max <= 0 {
		max = 64 << 20
	}
	// Refuse before downloading: the object's size is in its metadata.
	if int64(info.Size) > max {
		return nil, messaging.Permanent(fmt.Errorf("%s is %d MiB; the limit is %d MiB", req.Object, info.Size>>20, max>>20))
	}
	path, err := s.download(ctx, store, req.Object, max)
	if err != nil {
		return nil, err
	}
	defer removeFile(path)
	return pipeline.Import(ctx, s.Pool, path, pipeline.Options{Name: req.Object, DryRun: req.DryRun, Limits: lim, Metrics: s.Metrics, RequestID: requestID})
}

func (s *Server) download(ctx context.Context, store jetstream.ObjectStore, name string, max int64) (string, error) {
	obj, err := store.Get(ctx, name)
	if err != nil {
		return "", fmt.Errorf("get %s: %w", name, err)
	}
	defer obj.Close()
	f, err := os.CreateTemp(s.Limits.TmpDir, "admsync-request-*.xlsx")
	if err != nil {
		return "", fmt.Errorf("stage %s: %w", name, err)
	}
	n, err := io.Copy(f, io.LimitReader(obj, max+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		removeFile(f.Name())
		return "", fmt.Errorf("download %s: %w", name, err)
	}
	if n > max {
		removeFile(f.Name())
		return "", messaging.Permanent(fmt.Errorf("%s is larger than %d MiB", name, max>>20))
	}
	return f.Name(), nil
}

func removeFile(p string) { _ = os.Remove(p) }

// publish sends the result; its message id makes a redelivered request's
// second result a duplicate inside the stream's window.
func (s *Server) publish(ctx context.Context, res Result) error {
	data, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	m := nats.NewMsg(messaging.SubjectImportResultPrefix + res.RequestID)
	m.Data = data
	m.Header.Set(jetstream.MsgIDHeader, "import-result:"+res.RequestID)
	if _, err := s.JS.PublishMsg(ctx, m); err != nil {
		return fmt.Errorf("publish result of %s: %w", res.RequestID, err)
	}
	return nil
}
