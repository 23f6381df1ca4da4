// Package testwait lets tests wait for what they expect instead of
// sleeping: For polls a condition until it holds, and Buffer collects what
// a process or a logger writes concurrently so a test can wait for a line.
// Only tests import it.
package testwait

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

// Deadline bounds every wait. It only guards against a hang on a loaded
// machine and is never what a test asserts.
const Deadline = 90 * time.Second

// For polls cond every 10ms until it holds; after Deadline the test fails
// naming what it waited for.
func For(t testing.TB, what string, cond func() bool) {
	t.Helper()
	Within(t, Deadline, what, cond)
}

// Within is For with another bound, for the few waits (a whole replay
// through the running services) that may outlast Deadline on a loaded
// machine.
func Within(t testing.TB, bound time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", bound, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Buffer is a bytes.Buffer that one goroutine may write while another reads.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Bytes returns a copy of what was written so far.
func (s *Buffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// Reset forgets what was written.
func (s *Buffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}
