package server

import (
	"testing"

	"admsync/services/syncer/internal/syncer"
)

func TestParseRequest(t *testing.T) {
	t.Parallel()
	ok := []struct {
		subject, body string
		stage         string
		opts          syncer.Options
	}{
		{"sync.request.locations", "", syncer.StageLocations, syncer.Options{NoPrompt: true, PageSize: 100}},
		{"sync.request.sync_all", "  ", syncer.All, syncer.Options{NoPrompt: true, PageSize: 100}},
		{"sync.request.course_templates", `{"page_size": 20, "plan": true, "no_prompt": false}`, syncer.StageCourseTemplates,
			syncer.Options{NoPrompt: true, Plan: true, PageSize: 20}},
		{"sync.request.all", `{"skip_errors": true, "force_gone": true, "debug": true}`, syncer.All,
			syncer.Options{NoPrompt: true, SkipErrors: true, ForceGone: true, Debug: true, PageSize: 100}},
		{"sync.request.events", `{"sitting": "26A", "adopt": true, "conflicts": "administrate"}`, syncer.StageEvents,
			syncer.Options{NoPrompt: true, PageSize: 100, Sitting: "26A", Adopt: true, Conflicts: "administrate"}},
	}
	for _, c := range ok {
		stage, opts, err := ParseRequest(c.subject, []byte(c.body))
		if err != nil || stage != c.stage || opts != c.opts {
			t.Errorf("%s %q: got %s %+v %v", c.subject, c.body, stage, opts, err)
		}
	}
	for _, c := range [][2]string{
		{"sync.request.sessions", ""},
		{"sync.request.events", `{"conflicts": "both"}`},
		{"sync.request.locations.extra", ""},
		{"sync.result.locations", ""},
		{"sync.request.locations", "{"},
		{"sync.request.locations", `{"pagesize": 5}`},
		{"sync.request.locations", `{"page_size": 501}`},
	} {
		if _, _, err := ParseRequest(c[0], []byte(c[1])); err == nil {
			t.Errorf("%s %q accepted", c[0], c[1])
		}
	}
}
