package admsim

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// Internal type prefixes of Administrate's global ids. Event's is "Course" [C]; the ones
// marked [I] were not seen in public material and only need to be stable here.
const (
	prefixEvent         = "Course" // [C]
	prefixSession       = "Session"
	prefixContact       = "Contact"
	prefixLocation      = "Location"              // [C]
	prefixVenue         = "Venue"                 // [I]
	prefixCourseTmpl    = "CourseTemplate"        // [C]
	prefixPriceLevel    = "PriceLevel"            // [I]
	prefixPrice         = "Price"                 // [I]
	prefixCurrency      = "Currency"              // [I]
	prefixCustomField   = "CustomFieldDefinition" // [C]
	prefixStaff         = "Staff"                 // [I]
	prefixAccount       = "Organisation"          // [C]
	prefixLearningCateg = "LearningCategory"
)

// GlobalID encodes an Administrate global id: standard base64 (with padding) of "<Prefix>:<key>".
func GlobalID(prefix string, key int) string {
	return base64.StdEncoding.EncodeToString([]byte(prefix + ":" + strconv.Itoa(key)))
}

// DecodeID returns the prefix and key of a global id. It also accepts the decoded form
// "Prefix:N", which seed files use because it is readable.
func DecodeID(id string) (prefix string, key int, err error) {
	raw := id
	if !strings.Contains(id, ":") {
		b, decErr := base64.StdEncoding.DecodeString(id)
		if decErr != nil {
			return "", 0, fmt.Errorf("malformed id %q", id)
		}
		raw = string(b)
	}
	p, k, ok := strings.Cut(raw, ":")
	if !ok {
		return "", 0, fmt.Errorf("malformed id %q", id)
	}
	n, convErr := strconv.Atoi(k)
	if convErr != nil || n <= 0 {
		return "", 0, fmt.Errorf("malformed id %q", id)
	}
	return p, n, nil
}

// keyOf decodes id and checks its prefix; ok is false for malformed ids or ids of
// another type (a "foreign" id).
func keyOf(id, prefix string) (int, bool) {
	p, k, err := DecodeID(id)
	if err != nil || p != prefix {
		return 0, false
	}
	return k, true
}

// readableID renders "Prefix:N", the form dumps use.
func readableID(prefix string, key int) string { return prefix + ":" + strconv.Itoa(key) }
