package admsim

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"admsync/pkg/ctxtime"
)

// Faults are the misbehaviours the simulator injects into /graphql requests, applied in
// this order: latency, outage, rate limit, (authentication), server error, disabled
// operation; DropAfterApply acts after a mutation has been applied.
type Faults struct {
	// Latency delays every request; Jitter adds a uniform random [0, Jitter) on top.
	Latency time.Duration `json:"latency"`
	Jitter  time.Duration `json:"jitter"`

	// RateLimit answers 429 with Retry-After once RateLimit requests arrived within the
	// sliding RateWindow (default 1s). Refused requests count too, as a 429 costs a
	// request at Administrate. 0 disables the limit.
	RateLimit  int           `json:"rateLimit"`
	RateWindow time.Duration `json:"rateWindow"`

	// ErrorRatio is the share of requests answered with ErrorStatus (default 503) before
	// they execute.
	ErrorRatio  float64 `json:"errorRatio"`
	ErrorStatus int     `json:"errorStatus"`

	// OutageUntil answers every request with 503 until that instant.
	OutageUntil time.Time `json:"outageUntil"`

	// DropAfterApply makes the next N mutation requests execute (state changes) and then
	// closes the connection without answering.
	DropAfterApply int `json:"dropAfterApply"`
	// DropOperations, when set, limits DropAfterApply to mutations with these operation
	// names (e.g. "UpdateSession"; a batched request matches when one of its fields
	// does); other mutations are answered and use up no drop.
	DropOperations []string `json:"dropOperations"`

	// MaxFields refuses a document with more root fields than this (a batched
	// request) with a request-level error and HTTP 400, executing nothing; 0 allows any.
	MaxFields int `json:"maxFields"`
	// BatchFailures makes the next N mutation requests with more than one root field
	// apply only their first BatchApply fields and then fail: with 500, or, when
	// BatchDrop is set, by closing the connection without an answer.
	BatchFailures int  `json:"batchFailures"`
	BatchApply    int  `json:"batchApply"`
	BatchDrop     bool `json:"batchDrop"`

	// Disabled removes schema elements from the served schema, so introspection and
	// validation no longer know them (as a tenant that lacks them): fields
	// ("event.createBlended", "Event.sessions", "locations"), arguments
	// ("Event.sessions(first)"), input fields ("LMSEventCreateInput.maxPlaces") and enum
	// values ("ContactField.isAdmin"). An entry without a dot that names no root field
	// disables that operation name.
	Disabled []string `json:"disabled"`
}

// Faults returns the current faults (DropAfterApply shows how many drops remain).
func (s *Server) Faults() Faults {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	f := s.faults
	f.Disabled = slices.Clone(f.Disabled)
	f.DropOperations = slices.Clone(f.DropOperations)
	f.DropAfterApply = s.dropLeft
	f.BatchFailures = s.batchFailLeft
	return f
}

// SetFaults replaces the faults. Changing Disabled rebuilds the served schema.
func (s *Server) SetFaults(f Faults) error {
	if f.ErrorRatio < 0 || f.ErrorRatio > 1 {
		return fmt.Errorf("error ratio %v is outside [0,1]", f.ErrorRatio)
	}
	if f.RateLimit < 0 || f.Latency < 0 || f.Jitter < 0 || f.DropAfterApply < 0 || f.MaxFields < 0 || f.BatchFailures < 0 || f.BatchApply < 0 {
		return fmt.Errorf("fault values must not be negative")
	}
	if f.RateWindow <= 0 {
		f.RateWindow = time.Second
	}
	if f.ErrorStatus == 0 {
		f.ErrorStatus = http.StatusServiceUnavailable
	}
	if f.ErrorStatus < 500 || f.ErrorStatus > 599 {
		return fmt.Errorf("error status %d is not a 5xx", f.ErrorStatus)
	}
	cur := s.exec.Load()
	if cur == nil || !slices.Equal(f.Disabled, s.Faults().Disabled) {
		eh, err := s.buildExec(f.Disabled)
		if err != nil {
			return err
		}
		s.exec.Store(eh)
	}
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	s.faults = f
	s.faults.Disabled = slices.Clone(f.Disabled)
	s.faults.DropOperations = slices.Clone(f.DropOperations)
	s.dropLeft = f.DropAfterApply
	s.batchFailLeft = f.BatchFailures
	return nil
}

// UpdateFaults applies fn to a copy of the current faults and installs the result.
func (s *Server) UpdateFaults(fn func(*Faults)) error {
	f := s.Faults()
	fn(&f)
	return s.SetFaults(f)
}

// StartOutage makes every request fail with 503 for d.
func (s *Server) StartOutage(d time.Duration) error {
	return s.UpdateFaults(func(f *Faults) { f.OutageUntil = time.Now().Add(d) })
}

func (s *Server) sleepLatency(ctx context.Context, f Faults) error {
	d := f.Latency
	if f.Jitter > 0 {
		s.faultMu.Lock()
		d += time.Duration(s.rng.Int64N(int64(f.Jitter)))
		s.faultMu.Unlock()
	}
	if d <= 0 {
		return nil
	}
	return ctxtime.Sleep(ctx, d)
}

// rateLimited records the request in the sliding window and reports whether it is over
// the limit, with the time until the oldest request leaves the window.
func (s *Server) rateLimited(f Faults) (time.Duration, bool) {
	if f.RateLimit <= 0 {
		return 0, false
	}
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	t := time.Now()
	cut := t.Add(-f.RateWindow)
	i := 0
	for i < len(s.window) && !s.window[i].After(cut) {
		i++
	}
	s.window = append(s.window[:0], s.window[i:]...)
	over := len(s.window) >= f.RateLimit
	s.window = append(s.window, t)
	if !over {
		return 0, false
	}
	return s.window[0].Add(f.RateWindow).Sub(t), true
}

func (s *Server) serverError(f Faults) bool {
	if f.ErrorRatio <= 0 {
		return false
	}
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	return s.rng.Float64() < f.ErrorRatio
}

func (s *Server) takeDrop(ops []string) bool {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	if s.dropLeft <= 0 {
		return false
	}
	if len(s.faults.DropOperations) > 0 && !slices.ContainsFunc(ops, func(op string) bool { return slices.Contains(s.faults.DropOperations, op) }) {
		return false
	}
	s.dropLeft--
	return true
}
