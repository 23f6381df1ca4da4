package plan

import (
	"errors"
	"fmt"
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
		TemplateCode:       "CB1_LO_2",
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

// Every limit that would make Administrate refuse a later call of the event
// refuses the whole event in the plan, before its first write; each case
// names its problem. Cases are generated from a valid event, one breach at a
// time, with sizes just past each limit.
func TestLimitsRefuseBeforeAnyCall(t *testing.T) {
	t.Parallel()
	lim := DefaultLimits
	long := func(n int) string { return strings.Repeat("é", n) } // counted in characters, not bytes
	sessions := func(n int) []Session {
		out := make([]Session, n)
		for i := range out {
			day := time.Date(2026, 3, 30, 9, 30, 0, 0, time.UTC).AddDate(0, 0, i)
			out[i] = Session{TutorialSessionID: int64(100 + i), Day: i + 1, Title: fmt.Sprintf("S-%d", i+1), Start: day, End: day.Add(7 * time.Hour)}
		}
		return out
	}
	cases := []struct {
		name, want string
		change     func(*Event)
	}{
		{"too many sessions", "sessions; at most", func(e *Event) { e.TemplateCode = "CB1_X"; e.Sessions = sessions(lim.MaxSessions + 1) }},
		{"more days than the template", "course template CB1_LO_2 has 2 sessions", func(e *Event) { e.Sessions = sessions(3) }},
		{"title too long", "event title has", func(e *Event) { e.Title = long(lim.MaxTitle + 1) }},
		{"session title too long", "session title of Day 1", func(e *Event) { e.Sessions[1].Title = long(lim.MaxSessionTitle + 1) }},
		{"empty session title", "Day 1 has no title", func(e *Event) { e.Sessions[1].Title = "  " }},
		{"session URL too long", `"URL" has 501`, func(e *Event) { e.Sessions[1].URL = long(lim.MaxURL + 1) }},
		{"event URL too long", `Event custom field "URL"`, func(e *Event) { e.EventURL = long(lim.MaxURL + 1) }},
		{"sitting too long", `"Sitting" has`, func(e *Event) { e.Sitting = long(lim.MaxFieldValue + 1) }},
		{"too many instructors", "instructors; at most", func(e *Event) {
			e.Sessions[0].Instructors = nil
			for i := 0; i <= lim.MaxSessionStaff; i++ {
				e.Sessions[0].Instructors = append(e.Sessions[0].Instructors, Instructor{Name: "x", ExternalID: fmt.Sprintf("c%d", i)})
			}
		}},
		{"too many administrators", "administrators; at most", func(e *Event) {
			for i := 0; i <= lim.MaxAdministrators; i++ {
				e.Administrators = append(e.Administrators, fmt.Sprintf("a%d", i))
			}
		}},
		{"session ends before it starts", "ends", func(e *Event) { e.Sessions[0].End = e.Sessions[0].Start.Add(-time.Minute) }},
		{"classroom window reversed", "classroom end", func(e *Event) { e.ClassroomEnd = e.ClassroomStart.Add(-time.Hour) }},
		{"LMS window reversed", "LMS end", func(e *Event) { e.LMSEnd = e.LMSStart }},
		{"negative max places", "max places", func(e *Event) { e.MaxPlaces = -1 }},
		{"venue of another location", "belongs to Administrate location", func(e *Event) {
			e.Venue = Ref{LocalID: 3, Name: "Far", ExternalID: "V1"}
			e.VenueLocationID = "elsewhere"
		}},
		{"template without an Administrate code", "could not be found again", func(e *Event) { e.TemplateCode = "" }},
		{"ambiguous template", "matches several", func(e *Event) {
			e.TemplateProblem = `course template code "x" matches several tutorial course templates`
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := blended()
			c.change(&e)
			_, err := Build(e, Options{})
			var inv *Invalid
			if !errors.As(err, &inv) {
				t.Fatalf("Build accepted the event (err %v)", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
		})
	}
	// At each limit exactly, the event is fine.
	e := blended()
	e.Title = long(lim.MaxTitle)
	e.Sessions[0].Title = long(lim.MaxSessionTitle)
	if _, err := Build(e, Options{}); err != nil {
		t.Errorf("an event at the limits was refused: %v", err)
	}
	// Limits are configurable.
	if _, err := Build(blended(), Options{Limits: Limits{MaxSessions: 1}}); err == nil {
		t.Error("MaxSessions 1 accepted a two-day event")
	}
}

func TestTemplateSessions(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]int{"CB1_LO_6": 6, "CB1_f2f_1": 1, "OC_CB1": 0, "CB1": 0, "CB1_LO_0": 0, "CB1_LO_x": 0} {
		if got := TemplateSessions(code); got != want {
			t.Errorf("TemplateSessions(%q) = %d, want %d", code, got, want)
		}
	}
}
