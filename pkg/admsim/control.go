package admsim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// The control endpoint is for tests and demos on loopback; it has no authentication.
//
//	GET    /_control                 summary: faults, tokens issued, counts by outcome and operation,
//	                                 requests, fields (root fields executed) and batched requests
//	GET    /_control/faults          current faults
//	POST   /_control/faults          change faults; only the keys present change, e.g.
//	                                 {"latency":"200ms","jitter":"50ms","rateLimit":20,"rateWindow":"1s",
//	                                  "errorRatio":0.1,"errorStatus":503,"outageFor":"30s",
//	                                  "dropAfterApply":1,"dropOperations":["UpdateSession"],
//	                                  "disabled":["event.createBlended"],
//	                                  "maxFields":8,"batchFailures":1,"batchApply":2,"batchDrop":true}
//	GET    /_control/requests        recorded requests (?operation=Name filters)
//	DELETE /_control/requests        forget recorded requests
//	POST   /_control/tokens/expire   invalidate every issued access token
//	GET    /_control/state           dump the state as a seed
//	PUT    /_control/state           replace the state with the seed in the body
//	POST   /_control/state           add the seed in the body to the state
//	POST   /_control/events/<id>     change an event as in Administrate's UI (webhooks fire), e.g.
//	                                 {"lifecycleState":"cancelled","isSoldOut":true,"maxPlaces":20,
//	                                  "locationId":"…","venueId":"…","customFields":{"<definition id>":"True"}}
//	POST   /_control/sessions/<id>   change a session: {"title","locationId","venueId","instructors":[contact ids]}
//	GET    /_control/webhooks/deliveries  every webhook delivery attempt

type faultsJSON struct {
	Latency        string     `json:"latency"`
	Jitter         string     `json:"jitter"`
	RateLimit      int        `json:"rateLimit"`
	RateWindow     string     `json:"rateWindow"`
	ErrorRatio     float64    `json:"errorRatio"`
	ErrorStatus    int        `json:"errorStatus"`
	OutageUntil    *time.Time `json:"outageUntil,omitempty"`
	OutageFor      string     `json:"outageFor,omitempty"`
	DropAfterApply int        `json:"dropAfterApply"`
	DropOperations []string   `json:"dropOperations,omitempty"`
	Disabled       []string   `json:"disabled"`
	MaxFields      int        `json:"maxFields"`
	BatchFailures  int        `json:"batchFailures"`
	BatchApply     int        `json:"batchApply"`
	BatchDrop      bool       `json:"batchDrop"`
}

func toFaultsJSON(f Faults) faultsJSON {
	j := faultsJSON{Latency: f.Latency.String(), Jitter: f.Jitter.String(), RateLimit: f.RateLimit,
		RateWindow: f.RateWindow.String(), ErrorRatio: f.ErrorRatio, ErrorStatus: f.ErrorStatus,
		DropAfterApply: f.DropAfterApply, DropOperations: f.DropOperations, Disabled: f.Disabled,
		MaxFields: f.MaxFields, BatchFailures: f.BatchFailures, BatchApply: f.BatchApply, BatchDrop: f.BatchDrop}
	if !f.OutageUntil.IsZero() {
		t := f.OutageUntil
		j.OutageUntil = &t
	}
	if j.Disabled == nil {
		j.Disabled = []string{}
	}
	return j
}

func (j faultsJSON) faults() (Faults, error) {
	var f Faults
	var err error
	parse := func(name, v string) time.Duration {
		if v == "" || err != nil {
			return 0
		}
		d, e := time.ParseDuration(v)
		if e != nil {
			err = fmt.Errorf("%s: %w", name, e)
		}
		return d
	}
	f.Latency = parse("latency", j.Latency)
	f.Jitter = parse("jitter", j.Jitter)
	f.RateWindow = parse("rateWindow", j.RateWindow)
	outFor := parse("outageFor", j.OutageFor)
	f.RateLimit, f.ErrorRatio, f.ErrorStatus = j.RateLimit, j.ErrorRatio, j.ErrorStatus
	f.DropAfterApply, f.DropOperations, f.Disabled = j.DropAfterApply, j.DropOperations, j.Disabled
	f.MaxFields, f.BatchFailures, f.BatchApply, f.BatchDrop = j.MaxFields, j.BatchFailures, j.BatchApply, j.BatchDrop
	if j.OutageUntil != nil {
		f.OutageUntil = *j.OutageUntil
	}
	if j.OutageFor != "" {
		f.OutageUntil = time.Time{}
		if outFor > 0 {
			f.OutageUntil = time.Now().Add(outFor)
		}
	}
	return f, err
}

func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	route := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, ControlPath), "/")
	switch {
	case route == "" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{
			"faults":       toFaultsJSON(s.Faults()),
			"tokensIssued": s.TokensIssued(),
			"outcomes":     s.OutcomeCounts(),
			"operations":   s.OperationCounts(),
			// Requests and the root fields they carried: a batched request
			// (several aliased writes) is one request and several fields.
			"requests": s.RequestCount(),
			"fields":   s.FieldCount(),
			"batched":  s.BatchedCount(),
		})
	case route == "faults" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, toFaultsJSON(s.Faults()))
	case route == "faults" && (r.Method == http.MethodPost || r.Method == http.MethodPatch || r.Method == http.MethodPut):
		cur := toFaultsJSON(s.Faults())
		cur.OutageUntil = nil
		if f := s.Faults(); !f.OutageUntil.IsZero() {
			t := f.OutageUntil
			cur.OutageUntil = &t
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&cur); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		f, err := cur.faults()
		if err == nil {
			err = s.SetFaults(f)
		}
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, toFaultsJSON(s.Faults()))
	case route == "requests" && r.Method == http.MethodGet:
		reqs := s.Requests()
		if op := r.URL.Query().Get("operation"); op != "" {
			kept := reqs[:0]
			for _, q := range reqs {
				if q.Operation == op {
					kept = append(kept, q)
				}
			}
			reqs = kept
		}
		if reqs == nil {
			reqs = []Request{}
		}
		writeJSON(w, http.StatusOK, reqs)
	case route == "requests" && r.Method == http.MethodDelete:
		s.ResetRequests()
		w.WriteHeader(http.StatusNoContent)
	case route == "tokens/expire" && r.Method == http.MethodPost:
		s.ExpireTokens()
		w.WriteHeader(http.StatusNoContent)
	case route == "state" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.Dump())
	case route == "state" && (r.Method == http.MethodPut || r.Method == http.MethodPost):
		var seed Seed
		dec := json.NewDecoder(io.LimitReader(r.Body, 16<<20))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&seed); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		if r.Method == http.MethodPut {
			s.Reset()
		}
		if err := s.Load(seed); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		if s.serveChangeControl(w, r, route) {
			return
		}
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such control route: " + r.Method + " " + r.URL.Path})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
