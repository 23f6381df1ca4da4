package sampledata_test

import (
	"bytes"
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"admsync/pkg/database/dbtest"
	"admsync/pkg/sampledata"
)

func TestGenerateIsDeterministicAndRealistic(t *testing.T) {
	t.Parallel()
	opts := sampledata.Options{Events: 60, Seed: 7}
	b1, ref1 := sampledata.Generate(opts)
	b2, ref2 := sampledata.Generate(opts)
	if !reflect.DeepEqual(b1, b2) || !reflect.DeepEqual(ref1, ref2) {
		t.Fatal("same seed gave different workbooks")
	}
	codes := map[string]sampledata.CourseTemplate{}
	for _, ct := range ref1.CourseTemplates {
		codes[ct.Code] = ct
	}
	titles := map[string]bool{}
	events, modes := 0, map[string]int{}
	for i := 0; i < len(b1.Rows); {
		r := b1.Rows[i]
		code := r.Get("A").Text
		ct, ok := codes[code]
		if !ok {
			t.Fatalf("row %d: unknown code %q", i, code)
		}
		events++
		modes[ct.LearningMode]++
		title := r.Get("B").Text
		if titles[title] {
			t.Fatalf("duplicate title %s", title)
		}
		titles[title] = true
		n := 1
		for i+n < len(b1.Rows) && b1.Rows[i+n].Get("A").Kind == sampledata.Blank {
			n++
		}
		if ct.LearningMode != sampledata.LMS && n != ct.Sessions {
			t.Fatalf("%s: %d rows, template has %d sessions", title, n, ct.Sessions)
		}
		i += n
	}
	if events != 60 || modes[sampledata.LMS] == 0 || modes[sampledata.Blended] == 0 || modes[sampledata.Classroom] == 0 {
		t.Fatalf("events %d modes %v", events, modes)
	}
	var buf bytes.Buffer
	if err := b1.Write(&buf); err != nil {
		t.Fatal(err)
	}
	if buf.Len() < 1000 {
		t.Fatalf("workbook too small: %d bytes", buf.Len())
	}
}

func TestFromWorkbookCoversGeneratedWorkbook(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "s.xlsx")
	ref, err := sampledata.WriteFile(path, sampledata.Options{Events: 40, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	got, err := sampledata.FromWorkbook(path)
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, ct := range ref.CourseTemplates {
		known[ct.Code] = true
	}
	if len(got.CourseTemplates) == 0 || len(got.Instructors) == 0 || len(got.Locations) == 0 || len(got.Products) == 0 {
		t.Fatalf("derived too little: %+v", got)
	}
	for _, ct := range got.CourseTemplates {
		if !known[ct.Code] {
			t.Errorf("derived unknown template %s", ct.Code)
		}
	}
}

func TestSeedTwiceIsIdempotent(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ctx := context.Background()
	_, ref := sampledata.Generate(sampledata.Options{Events: 5, Seed: 1})
	count := func() [4]int {
		var c [4]int
		for i, q := range []string{"SELECT count(*) FROM acted.tutorial_instructors", "SELECT count(*) FROM adm.course_templates",
			"SELECT count(*) FROM adm.course_template_instructors", "SELECT count(*) FROM acted.tutorial_venues"} {
			if err := db.Pool.QueryRow(ctx, q).Scan(&c[i]); err != nil {
				t.Fatal(err)
			}
		}
		return c
	}
	for i := 0; i < 2; i++ {
		ids, err := sampledata.SeedTutorial(ctx, db.Pool, ref)
		if err != nil {
			t.Fatal(err)
		}
		if err := sampledata.SeedBridges(ctx, db.Pool, ref, ids); err != nil {
			t.Fatal(err)
		}
	}
	c := count()
	if c[0] != len(ref.Instructors) || c[1] != len(ref.CourseTemplates) || c[3] != len(ref.Venues) || c[2] == 0 {
		t.Fatalf("counts %v", c)
	}
}

func TestCodeParts(t *testing.T) {
	t.Parallel()
	for code, want := range map[string][2]string{"CB1_LO_6": {"CB1", "LO_6"}, "OC_SA7": {"SA7", "OC"}, "SP9_f2f_3": {"SP9", "f2f_3"}, "X": {"X", ""}} {
		s, v := sampledata.CodeParts(code)
		if s != want[0] || v != want[1] {
			t.Errorf("CodeParts(%s) = %s, %s", code, s, v)
		}
	}
}
