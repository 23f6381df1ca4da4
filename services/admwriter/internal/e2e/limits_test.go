package e2e

import (
	"fmt"
	"strings"
	"testing"

	"admsync/pkg/sampledata"
	"admsync/pkg/testwait"
)

// An event that Administrate would refuse part-way (more Days than its
// course template creates sessions, more sessions than any event may have, a
// session that ends before it starts) is refused before its first
// Administrate write: the bridge is failed with the reason, the message is
// dead-lettered naming it, and Administrate receives no mutation at all, so
// no half-created event is left behind.
func TestEventThatCannotBeCompletedIsNotStarted(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		days  int
		fix   string // SQL run on the seeded event ($1) before it is queued
		wants []string
	}{
		{name: "more days than the template", days: 4, wants: []string{"Day 4", "has 3 sessions"}},
		{name: "more sessions than any event may have", days: 150, wants: []string{"150 sessions", "at most 100"}},
		{name: "a session ends before it starts", fix: `UPDATE acted.tutorial_sessions SET end_date = start_date - interval '1 hour'
			WHERE tutorial_event_id = $1 AND sequence = 2`, wants: []string{"Day 2", "before it starts"}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			ct := b.templateWithSessions(sampledata.Blended, 3)
			title := fmt.Sprintf("ELO-LIMIT-%d-26A", i)
			ev := b.seedEvent(eventSpec{Template: ct, Title: title, Location: "London", Venue: "Riverside Rooms", Days: c.days})
			if c.fix != "" {
				b.db.Exec(t, c.fix, ev)
			}
			b.start(runOpts{workers: 1})
			b.enqueue(ev)
			b.waitState("failed", 1)
			testwait.For(b.t, "a dead letter", func() bool { return len(b.deadLetters()) == 1 })
			reason := b.deadLetters()[0].Reason
			for _, w := range c.wants {
				if !strings.Contains(reason, w) {
					t.Errorf("dead-letter reason %q does not say %q", reason, w)
				}
			}
			if ext, _ := b.bridge(ev); ext != "" {
				t.Errorf("the bridge holds Administrate event %s: the event was created", ext)
			}
			if n := len(b.sim.Events()); n != 0 {
				t.Errorf("Administrate holds %d events, want none", n)
			}
			for _, r := range b.sim.Requests() {
				if r.Kind == "mutation" {
					t.Errorf("Administrate received %s for an event that cannot be completed", r.Operation)
				}
			}
		})
	}
}
