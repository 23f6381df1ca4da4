package match_test

import (
	"fmt"
	"reflect"
	"testing"

	"admsync/pkg/match"
)

func TestKey(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"":                          "",
		"   ":                       "",
		"london":                    "london",
		"  Live   online ":          "live online",
		"Live\tOnline":              "live online",
		"To Be Confirmed":           "to be confirmed",
		"a\u00a0b":                  "a b", // non-breaking space
		"STRASSE":                   "strasse",
		"Straße":                    "strasse",
		"  Ångström  Émile ":        "ångström émile",
		"CB1_LO_6":                  "cb1_lo_6",
		"Lucy  Powell\u2003Davies ": "lucy powell davies",
	}
	for in, want := range cases {
		if got := match.Key(in); got != want {
			t.Errorf("Key(%q) = %q, want %q", in, got, want)
		}
	}
	if !match.Equal("Dublin", " DUBLIN") {
		t.Error("Equal should ignore case and outer spaces")
	}
}

func TestSplitNames(t *testing.T) {
	t.Parallel()
	got := match.SplitNames(" Ann Lee / Bo Chan;Cy Dee ,, ")
	want := []string{"Ann Lee", "Bo Chan", "Cy Dee"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("SplitNames = %q, want %q", got, want)
	}
	if n := match.SplitNames("  "); len(n) != 0 {
		t.Fatalf("blank cell gave %q", n)
	}
}

func BenchmarkKeyASCII(b *testing.B) {
	for b.Loop() {
		_ = match.Key("  Live  Online ")
	}
}

func ExampleKey() {
	fmt.Println(match.Key("  Live   ONLINE "))
	fmt.Println(match.Key("Straße") == match.Key("STRASSE"))
	// Output:
	// live online
	// true
}
