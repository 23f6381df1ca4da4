package validate

import "testing"

func TestZoneOf(t *testing.T) {
	t.Parallel()
	ok := map[string]string{"Europe - London": "Europe/London", "America - New York": "America/New_York",
		" Europe - Dublin ": "Europe/Dublin", "Asia/Hong_Kong": "Asia/Hong_Kong", "UTC": "UTC"}
	for in, want := range ok {
		if _, got, err := ZoneOf(in); err != nil || got != want {
			t.Errorf("ZoneOf(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "London", "Europe - Atlantis", "Local", "GMT+1"} {
		if _, _, err := ZoneOf(bad); err == nil {
			t.Errorf("ZoneOf(%q) accepted", bad)
		}
	}
}

func TestModeAndCodeRules(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"Blended": Blended, "live online": Blended, "Self Paced (LMS)": LMS, "LMS": LMS, "CLASSROOM": Classroom, "f2f": Classroom} {
		if got, ok := ModeOf(in); !ok || got != want {
			t.Errorf("ModeOf(%q) = %q", in, got)
		}
	}
	if _, ok := ModeOf("hybrid"); ok {
		t.Error("hybrid accepted")
	}
	for code, want := range map[string]bool{"OC_SA7": true, "CB1_WAITLIST": true, "oc_cb1": true, "CB1_LO_6": false, "LOCAL_X": false, "SP9_f2f_3": false} {
		if CodeIsLMS(code) != want {
			t.Errorf("CodeIsLMS(%q) != %v", code, want)
		}
	}
	for code, want := range map[string][2]string{"CB1_LO_6": {"CB1", "LO_6"}, "OC_SA7": {"SA7", "OC"}, "SP9_f2f_3": {"SP9", "f2f_3"}} {
		if s, v := CodeParts(code); s != want[0] || v != want[1] {
			t.Errorf("CodeParts(%q) = %s, %s", code, s, v)
		}
	}
}
