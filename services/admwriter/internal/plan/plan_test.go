package plan

import (
	"errors"
	"strings"
	"testing"
	"time"

	"admsync/pkg/administrate"
)

func wall(s string) time.Time {
	t, err := time.Parse("2006-01-02T15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

func instant(zone, s string) time.Time {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		panic(err)
	}
	t, err := time.ParseInLocation("2006-01-02T15:04", s, loc)
	if err != nil {
		panic(err)
	}
	return t.UTC() // as PostgreSQL returns timestamptz
}

func blended() Event {
	return Event{
		TutorialEventID:    7,
		Title:              "ELO-CB1-01-26A",
		CourseTemplateCode: "CB1_LO_2",
		CourseTemplateID:   "Q291cnNlVGVtcGxhdGU6MQ==",
		Mode:               Blended,
		TimeZone:           "Europe/London",
		Location:           Ref{LocalID: 1, Name: "London", ExternalID: "TG9jYXRpb246MQ=="},
		ClassroomStart:     wall("2026-03-30T09:30"), // after the BST switch
		ClassroomEnd:       wall("2026-03-31T17:00"),
		LMSStart:           wall("2025-09-01T16:00"),
		LMSEnd:             wall("2026-04-10T00:00"),
		MaxPlaces:          12,
		Sitting:            "2026A",
		WebSale:            false,
		EventURL:           "https://example.test/e",
		FinalisationDate:   wall("2026-02-01T00:00"),
		Sessions: []Session{
			{TutorialSessionID: 12, Day: 2, Title: "ELO-CB1-01-26A-2", Start: instant("Europe/London", "2026-03-31T09:30"), End: instant("Europe/London", "2026-03-31T17:00"),
				Instructors: []Instructor{{Name: "Ann Lee", ExternalID: "Q29udGFjdDoy"}}},
			{TutorialSessionID: 11, Day: 1, Title: "ELO-CB1-01-26A-1", Start: instant("Europe/London", "2026-03-30T09:30"), End: instant("Europe/London", "2026-03-30T17:00"),
				URL: "https://example.test/s1", Instructors: []Instructor{{Name: "Bo Chan", ExternalID: "Q29udGFjdDox"}}},
		},
		EventFields:   map[string]string{LabelSitting: "k-sit", LabelWebSale: "k-web", LabelFinalisationDate: "k-fin", LabelURL: "k-url", LabelOCRMoodleCode: "k-ocr"},
		SessionFields: map[string]string{LabelDay: "k-day", LabelURL: "k-surl"},
	}
}

func cfMap(v []administrate.CustomFieldValueInput) map[string]string {
	m := map[string]string{}
	for _, c := range v {
		m[c.DefinitionKey] = c.Value
	}
	return m
}

func TestBlendedPlan(t *testing.T) {
	t.Parallel()
	p, err := Build(blended(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Blended == nil || p.LMS != nil || p.Classroom != nil {
		t.Fatalf("want only a blended create: %+v", p)
	}
	in := p.Blended
	if in.TimeZoneName != "Europe/London" || in.EventType != administrate.EventTypePublic {
		t.Errorf("zone/type = %q/%q", in.TimeZoneName, in.EventType)
	}
	// LocalDateTime values are the workbook's wall clock, not UTC.
	if got := in.ClassroomStartDateTime.String(); got != "2026-03-30T09:30:00" {
		t.Errorf("classroom start %s", got)
	}
	if got := in.LmsEndDateTime.String(); got != "2026-04-10T00:00:00" {
		t.Errorf("lms end %s", got)
	}
	want := map[string]string{"k-sit": "2026A", "k-web": "false", "k-fin": "2026-02-01", "k-url": "https://example.test/e"}
	if got := cfMap(in.CustomFieldValues); len(got) != len(want) {
		t.Errorf("custom fields %v, want %v", got, want)
	} else {
		for k, v := range want {
			if got[k] != v {
				t.Errorf("custom field %s = %q, want %q", k, got[k], v)
			}
		}
	}
	if len(p.Sessions) != 2 || p.Sessions[0].Day != 1 || p.Sessions[1].Day != 2 {
		t.Fatalf("sessions not in Day order: %+v", p.Sessions)
	}
	s1 := p.Sessions[0]
	// 09:30 BST is 08:30 UTC; the session must still say 09:30 in its zone.
	if s1.Update.Start.String() != "2026-03-30T09:30:00" || s1.Update.End.String() != "2026-03-30T17:00:00" {
		t.Errorf("session 1 times %s..%s", s1.Update.Start, s1.Update.End)
	}
	if s1.Update.TimeZoneName != "Europe/London" || s1.Update.LocationId != "TG9jYXRpb246MQ==" || s1.Update.Title != "ELO-CB1-01-26A-1" {
		t.Errorf("session 1 update %+v", s1.Update)
	}
	if got := cfMap(s1.Update.CustomFieldValues); got["k-day"] != "1" || got["k-surl"] != "https://example.test/s1" {
		t.Errorf("session 1 custom fields %v", got)
	}
	if got := cfMap(p.Sessions[1].Update.CustomFieldValues); got["k-day"] != "2" || len(got) != 1 {
		t.Errorf("session 2 custom fields %v (no URL given, none sent)", got)
	}
	if len(s1.InstructorIDs) != 1 || s1.InstructorIDs[0] != "Q29udGFjdDox" {
		t.Errorf("session 1 instructors %v", s1.InstructorIDs)
	}
	if p.MaxCalls() != 2*2+1 {
		t.Errorf("MaxCalls = %d, want 2S+1 = 5", p.MaxCalls())
	}
}

func TestWebSaleIsTextEverywhere(t *testing.T) {
	t.Parallel()
	e := blended()
	e.WebSale = true
	p, err := Build(e, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfMap(p.Blended.CustomFieldValues)["k-web"]; got != "true" {
		t.Errorf("blended web sale %q", got)
	}
	e.Mode, e.Sessions = LMS, nil
	e.OCRMoodleCode = "CB1 OC"
	p, err = Build(e, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfMap(p.LMS.CustomFieldValues); got["k-web"] != "true" || got["k-ocr"] != "CB1 OC" || got["k-sit"] != "2026A" {
		t.Errorf("LMS custom fields %v", got)
	}
	if _, ok := cfMap(p.LMS.CustomFieldValues)["k-fin"]; ok {
		t.Error("LMS create must not carry a finalisation date")
	}
}

func TestLMSPlanHasNoSessionCalls(t *testing.T) {
	t.Parallel()
	e := blended()
	e.Mode = LMS
	p, err := Build(e, Options{TaxTypeID: "VGF4VHlwZTox"})
	if err != nil {
		t.Fatal(err)
	}
	if p.LMS == nil || len(p.Sessions) != 0 || p.MaxCalls() != 1 {
		t.Fatalf("LMS plan %+v", p)
	}
	if p.LMS.LmsStartDateTime.String() != "2025-09-01T16:00:00" || p.LMS.TaxType != "VGF4VHlwZTox" {
		t.Errorf("LMS create %+v", p.LMS)
	}
	if p.Create() != "event.createLMS" {
		t.Errorf("Create() = %s", p.Create())
	}
}

func TestClassroomPlan(t *testing.T) {
	t.Parallel()
	e := blended()
	e.Mode = Classroom
	e.LMSStart, e.LMSEnd = time.Time{}, time.Time{}
	p, err := Build(e, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Classroom == nil || p.Classroom.ClassroomEndDateTime.String() != "2026-03-31T17:00:00" || len(p.Sessions) != 2 {
		t.Fatalf("classroom plan %+v", p)
	}
}

func TestEveryProblemIsReported(t *testing.T) {
	t.Parallel()
	e := blended()
	e.TimeZone = "Europe/Atlantis"
	e.CourseTemplateID = ""
	e.Venue = Ref{LocalID: 3, Name: "Hall A"}
	delete(e.EventFields, LabelSitting)
	delete(e.SessionFields, LabelDay)
	e.Sessions[0].Instructors[0].ExternalID = ""
	_, err := Build(e, Options{})
	var inv *Invalid
	if !errors.As(err, &inv) {
		t.Fatalf("Build = %v, want *Invalid", err)
	}
	msg := err.Error()
	for _, want := range []string{`"Europe/Atlantis"`, `"CB1_LO_2"`, `venue "Hall A"`, `Event custom field "Sitting"`, `Session custom field "Day"`, `instructor "Ann Lee" (Day 2)`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %s", msg, want)
		}
	}
}

func TestAssign(t *testing.T) {
	t.Parallel()
	p, err := Build(blended(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := p.Assign([]string{"s-a", "s-b", "s-c"})
	if err != nil {
		t.Fatal(err)
	}
	if m[1] != "s-a" || m[2] != "s-b" {
		t.Errorf("Assign = %v", m)
	}
	_, err = p.Assign([]string{"s-a"})
	if !errors.Is(err, ErrTooFewSessions) || !strings.Contains(err.Error(), "has 1 session(s)") || !strings.Contains(err.Error(), "has 2 day(s)") {
		t.Errorf("Assign with one session = %v", err)
	}
}

func TestDuplicateDayIsAProblem(t *testing.T) {
	t.Parallel()
	e := blended()
	e.Sessions[0].Day = 1
	_, err := Build(e, Options{})
	if err == nil || !strings.Contains(err.Error(), "Day 1 appears twice") {
		t.Fatalf("Build = %v", err)
	}
}
