package sampledata

import (
	"fmt"
	"sort"
	"strings"

	"github.com/xuri/excelize/v2"

	"admsync/pkg/match"
)

// FromWorkbook derives the reference data a workbook needs from the
// workbook itself: every course template code (learning mode from column D,
// session count from its largest event), location, venue (except "To be
// confirmed"), instructor (approved for the templates they teach),
// administrator and product it names, plus the custom-field definitions.
// Seeding the result lets any well-formed workbook be demonstrated end to
// end without a real Administrate tenant.
func FromWorkbook(path string) (*ReferenceData, error) {
	f, err := excelize.OpenFile(path, excelize.Options{RawCellValue: true, UnzipXMLSizeLimit: 16 << 20, UnzipSizeLimit: 1 << 30})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	sheet := ""
	for _, s := range f.GetSheetList() {
		if strings.EqualFold(strings.TrimSpace(s), "Import") {
			sheet = s
		}
	}
	if sheet == "" {
		return nil, fmt.Errorf("%s has no sheet named Import", path)
	}
	rows, err := f.Rows(sheet)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer rows.Close()

	col := map[string]int{}
	b := newBuilder()
	var cur *ctBuild
	curSessions := 0
	n := 0
	for rows.Next() {
		n++
		cells, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return nil, fmt.Errorf("read %s row %d: %w", path, n, err)
		}
		get := func(h string) string {
			if i, ok := col[match.Key(h)]; ok && i < len(cells) {
				return strings.TrimSpace(cells[i])
			}
			return ""
		}
		if n == 1 {
			for i, h := range cells {
				if k := match.Key(h); k != "" {
					if _, dup := col[k]; !dup {
						col[k] = i
					}
				}
			}
			for _, h := range []string{"Course template code", "Learning mode", "Location", "Venue", "Session instructor", "Sitting"} {
				if _, ok := col[match.Key(h)]; !ok {
					return nil, fmt.Errorf("%s: header %q is missing from row 1", path, h)
				}
			}
			continue
		}
		if n <= 3 && strings.HasPrefix(strings.ToLower(get("Course template code")), "e.g") || get("Classroom start date") == "DD/MM/YYYY" {
			continue
		}
		code := get("Course template code")
		if code != "" {
			if cur != nil && curSessions > cur.sessions {
				cur.sessions = curSessions
			}
			cur = b.template(code, get("Learning mode"))
			curSessions = 1
			b.location(get("Location"))
			b.venue(get("Location"), get("Venue"))
			b.product(code, get("Sitting"))
			for _, p := range match.SplitNames(get("Event administrator")) {
				b.admin(p)
			}
			for _, p := range match.SplitNames(get("Instructor")) {
				b.instructor(p, cur)
			}
			if cur.mode == LMS {
				curSessions = 0
			}
		} else if cur != nil && get("Session title") != "" {
			curSessions++
		}
		if cur != nil {
			for _, p := range match.SplitNames(get("Session instructor")) {
				b.instructor(p, cur)
			}
		}
	}
	if cur != nil && curSessions > cur.sessions {
		cur.sessions = curSessions
	}
	if err := rows.Error(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return b.build(), nil
}

type ctBuild struct {
	code, mode string
	sessions   int
	approved   map[string]string
}

type builder struct {
	cts       map[string]*ctBuild
	order     []string
	locations map[string]string
	venues    map[string]Venue
	people    map[string]string
	admins    map[string]string
	products  map[string]Product
}

func newBuilder() *builder {
	return &builder{cts: map[string]*ctBuild{}, locations: map[string]string{}, venues: map[string]Venue{},
		people: map[string]string{}, admins: map[string]string{}, products: map[string]Product{}}
}

func modeOf(text, code string) string {
	switch match.Key(text) {
	case "self paced (lms)", "lms", "self paced":
		return LMS
	case "classroom", "f2f":
		return Classroom
	case "blended", "live online":
		return Blended
	}
	if s, v := CodeParts(code); s != "" && strings.EqualFold(v, "OC") {
		return LMS
	}
	return Blended
}

func (b *builder) template(code, mode string) *ctBuild {
	k := match.Key(code)
	if ct, ok := b.cts[k]; ok {
		return ct
	}
	ct := &ctBuild{code: code, mode: modeOf(mode, code), approved: map[string]string{}}
	b.cts[k] = ct
	b.order = append(b.order, k)
	return ct
}

func (b *builder) location(name string) {
	if name != "" {
		if _, ok := b.locations[match.Key(name)]; !ok {
			b.locations[match.Key(name)] = name
		}
	}
}

func isTBC(v string) bool {
	switch match.Key(v) {
	case "", "to be confirmed", "tbc", "tbd":
		return true
	}
	return false
}

func (b *builder) venue(location, name string) {
	if location == "" || isTBC(name) {
		return
	}
	k := match.Key(location) + "\x00" + match.Key(name)
	if _, ok := b.venues[k]; !ok {
		b.venues[k] = Venue{Name: name, Location: b.locations[match.Key(location)]}
	}
}

func (b *builder) instructor(name string, ct *ctBuild) {
	k := match.Key(name)
	if _, ok := b.people[k]; !ok {
		b.people[k] = strings.Join(strings.Fields(name), " ")
	}
	ct.approved[k] = b.people[k]
}

func (b *builder) admin(name string) {
	k := match.Key(name)
	if _, ok := b.admins[k]; !ok {
		b.admins[k] = strings.Join(strings.Fields(name), " ")
	}
}

func (b *builder) product(code, sitting string) {
	s, v := CodeParts(code)
	if sitting == "" {
		return
	}
	k := match.Key(s) + "|" + match.Key(sitting) + "|" + match.Key(v)
	if _, ok := b.products[k]; !ok {
		b.products[k] = Product{Code: fmt.Sprintf("%s/%s/%s", s, v, sitting), Subject: s, Sitting: sitting, Variation: v}
	}
}

func sortedValues[V any](m map[string]V) []V {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]V, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}

func (b *builder) build() *ReferenceData {
	ref := &ReferenceData{CustomFields: RequiredCustomFields()}
	for _, k := range b.order {
		ct := b.cts[k]
		ref.CourseTemplates = append(ref.CourseTemplates, CourseTemplate{Code: ct.code, Title: ct.code,
			LearningMode: ct.mode, Sessions: ct.sessions, Approved: sortedValues(ct.approved)})
	}
	for _, l := range sortedValues(b.locations) {
		ref.Locations = append(ref.Locations, Location{Name: l})
	}
	ref.Venues = sortedValues(b.venues)
	for _, p := range sortedValues(b.people) {
		ref.Instructors = append(ref.Instructors, PersonFromName(p))
	}
	for _, p := range sortedValues(b.admins) {
		ref.Administrators = append(ref.Administrators, PersonFromName(p))
	}
	ref.Products = sortedValues(b.products)
	return ref
}
