package syncer

import (
	"reflect"
	"testing"
)

func items(kv ...string) []item {
	var out []item
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, item{ID: kv[i], Key: matchKey(kv[i+1]), Label: kv[i+1]})
	}
	return out
}

func ids(in []item) []string {
	var out []string
	for _, it := range in {
		out = append(out, it.ID)
	}
	return out
}

func TestMatchRecordsNormalisesKeys(t *testing.T) {
	t.Parallel()
	m := matchRecords(items("1", "  London  ", "2", "Milton   Keynes", "3", "STRASSE"),
		nil, items("a", "london", "b", "milton keynes", "c", "straße"))
	want := map[string]string{"a": "1", "b": "2", "c": "3"}
	if !reflect.DeepEqual(m.links, want) {
		t.Fatalf("links = %v, want %v", m.links, want)
	}
	if len(m.unmatchedTutorial)+len(m.unmatchedAdministrate)+len(m.ambiguous) != 0 {
		t.Fatalf("unexpected leftovers: %+v", m)
	}
}

func TestMatchRecordsAmbiguousBothWays(t *testing.T) {
	t.Parallel()
	// Two tutorial rows share "london"; two Administrate records share "leeds".
	m := matchRecords(items("1", "London", "2", "london ", "3", "Leeds", "4", "York"),
		nil, items("a", "LONDON", "b", "Leeds", "c", "leeds", "d", "Bath"))
	if len(m.links) != 0 {
		t.Fatalf("ambiguous keys must not link, got %v", m.links)
	}
	if len(m.ambiguous) != 2 {
		t.Fatalf("want 2 ambiguous keys, got %+v", m.ambiguous)
	}
	if got := ids(m.unmatchedTutorial); !reflect.DeepEqual(got, []string{"4"}) {
		t.Fatalf("unmatched tutorial = %v", got)
	}
	if got := ids(m.unmatchedAdministrate); !reflect.DeepEqual(got, []string{"d"}) {
		t.Fatalf("unmatched administrate = %v", got)
	}
	if !m.ambiguousIDs["a"] || !m.ambiguousIDs["b"] || !m.ambiguousIDs["c"] {
		t.Fatalf("ambiguous ids = %v", m.ambiguousIDs)
	}
}

func TestMatchRecordsInactiveNeverLinks(t *testing.T) {
	t.Parallel()
	m := matchRecords(nil, items("9", "Leeds"), items("a", "Leeds"))
	if len(m.links) != 0 || len(m.unmatchedAdministrate) != 1 {
		t.Fatalf("inactive row linked or lost: %+v", m)
	}
	if m.unmatchedAdministrate[0].Note == "" {
		t.Fatal("the report should say the tutorial match is inactive")
	}
	// Duplicated tutorial keys with no Administrate record are ambiguous too.
	m = matchRecords(items("1", "Leeds", "2", "LEEDS"), nil, nil)
	if len(m.ambiguous) != 1 || len(m.unmatchedTutorial) != 0 {
		t.Fatalf("tutorial duplicates: %+v", m)
	}
}

func TestCompositeKey(t *testing.T) {
	t.Parallel()
	if compositeKey("1", "") != "" || compositeKey("", "x") != "" {
		t.Fatal("a missing part must make the key unmatchable")
	}
	if compositeKey("1", "a") == compositeKey("1a", "") {
		t.Fatal("parts must not run together")
	}
}

func TestParseStage(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"locations": StageLocations, "sync_locations": StageLocations, "SYNC_ALL": All, "all": All,
		"course_template_price_levels": StageCourseTemplatePrices, "sync_course_templates": StageCourseTemplates,
		"sync-custom-fields": StageCustomFields, "price_levels": StagePriceLevels, "sync_events": StageEvents,
	}
	for in, want := range cases {
		got, err := ParseStage(in)
		if err != nil || got != want {
			t.Errorf("ParseStage(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseStage("sessions"); err == nil {
		t.Error("unknown stage accepted")
	}
}
