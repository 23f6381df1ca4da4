package sampledata

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"
)

// Options shapes a generated workbook.
type Options struct {
	Events   int    // number of events (default 10)
	Rows     int    // if set, generate events until at least this many data rows (Events is ignored)
	Seed     uint64 // same seed, same workbook
	Sitting  string // exam sitting, e.g. "2026A" (April) or "2026S" (September); default "2026A"
	Date1904 bool   // write serials in the 1904 date system
	// TrailingRows adds styled empty rows after the data, as Excel leaves them.
	TrailingRows int
}

func (o Options) withDefaults() Options {
	if o.Events <= 0 {
		o.Events = 10
	}
	if o.Sitting == "" {
		o.Sitting = "2026A"
	}
	return o
}

var subjects = []string{"CB1", "CB2", "CB3", "CM1", "CM2", "CS1", "CS2", "CP1", "CP2", "CP3",
	"SP1", "SP2", "SP4", "SP5", "SP6", "SP7", "SP8", "SP9", "SA1", "SA2", "SA3", "SA4", "SA7"}

var physical = []struct{ location, venue string }{
	{"London", "Central Training Centre"}, {"London", "Riverside Rooms"}, {"Edinburgh", "Old Town Suite"},
	{"Manchester", "Piccadilly House"}, {"Birmingham", "Colmore Rooms"}, {"Bristol", "Harbourside Centre"},
	{"Glasgow", "Merchant City Rooms"}, {"Leeds", "Park Square"}, {"Dublin", "Docklands Centre"},
}

var firstNames = []string{"Alice", "Ben", "Chloe", "Daniel", "Eleanor", "Farid", "Grace", "Hamish", "Isla", "James",
	"Kavita", "Liam", "Maya", "Nikhil", "Olivia", "Patrick", "Rosa", "Samuel", "Tara", "Umar", "Victoria", "William",
	"Yasmin", "Zoe", "Aidan", "Bethany", "Conor", "Deepa", "Ewan", "Fiona", "Gareth", "Helen"}
var lastNames = []string{"Abbott", "Bennett", "Carver", "Dalton", "Ellison", "Fairley", "Garnett", "Holloway",
	"Ingram", "Jarvis", "Kendrick", "Lowther", "Marsden", "Norris", "Oakley", "Prentice", "Quayle", "Redford",
	"Sutton", "Thackeray", "Underhill", "Varley", "Whitcombe", "Yardley"}

// Reference builds the reference data of a generator seed: 23 subjects with
// live-online, face-to-face, LMS and some classroom course templates,
// ten locations, 36 instructors (one with a two-word first name) and four
// administrators. Generate uses the same data.
func Reference(opts Options) *ReferenceData {
	opts = opts.withDefaults()
	rng := rand.New(rand.NewPCG(opts.Seed, 0x5eed))
	ref := &ReferenceData{CustomFields: RequiredCustomFields()}
	ref.Locations = append(ref.Locations, Location{"Live online"}, Location{"Online"})
	ref.Venues = append(ref.Venues, Venue{"Live online", "Live online"})
	seenLoc := map[string]bool{}
	for _, p := range physical {
		if !seenLoc[p.location] {
			seenLoc[p.location] = true
			ref.Locations = append(ref.Locations, Location{p.location})
		}
		ref.Venues = append(ref.Venues, Venue{p.venue, p.location})
	}
	for i := 0; i < 36; i++ {
		p := Person{FirstName: firstNames[(i*7)%len(firstNames)], LastName: lastNames[(i*5+i/len(lastNames))%len(lastNames)]}
		if i == 11 {
			p.FirstName = "Mary Ann" // a two-word first name, as real rosters have
		}
		ref.Instructors = append(ref.Instructors, p)
	}
	ref.Administrators = []Person{{"Priya", "Castle"}, {"Tom", "Everard"}, {"Jo", "Lindqvist"}, {"Sam", "Okafor"}}
	sitting := opts.Sitting
	for si, subj := range subjects {
		// Each subject has a team of five instructors; templates approve four.
		team := make([]string, 5)
		for k := range team {
			team[k] = ref.Instructors[(si*3+k)%len(ref.Instructors)].FullName()
		}
		approved := func() []string {
			skip := rng.IntN(len(team))
			var out []string
			for k, n := range team {
				if k != skip {
					out = append(out, n)
				}
			}
			return out
		}
		add := func(code, title, mode string, sessions int, appr []string) {
			ref.CourseTemplates = append(ref.CourseTemplates, CourseTemplate{Code: code, Title: title, LearningMode: mode, Sessions: sessions, Approved: appr})
			s, v := CodeParts(code)
			ref.Products = append(ref.Products, Product{Code: fmt.Sprintf("%s/%s/%s", s, v, sitting), Subject: s, Sitting: sitting, Variation: v})
		}
		lo := []int{1, 3, 5, 6}[rng.IntN(4)]
		add(fmt.Sprintf("%s_LO_%d", subj, lo), fmt.Sprintf("%s live online tutorials (%d days)", subj, lo), Blended, lo, approved())
		f2f := []int{1, 3, 5}[rng.IntN(3)]
		add(fmt.Sprintf("%s_f2f_%d", subj, f2f), fmt.Sprintf("%s face-to-face tutorials (%d days)", subj, f2f), Blended, f2f, approved())
		add("OC_"+subj, subj+" online classroom", LMS, 0, nil)
		if si%3 == 0 {
			add(fmt.Sprintf("%s_CR_2", subj), subj+" revision classroom (2 days)", Classroom, 2, approved())
		}
	}
	return ref
}

// Generate builds a small workbook in memory (tests edit its rows before
// writing it) with the reference data it uses.
func Generate(opts Options) (*Book, *ReferenceData) {
	opts = opts.withDefaults()
	ref := Reference(opts)
	b := &Book{Date1904: opts.Date1904, TrailingRows: opts.TrailingRows}
	g := newGenerator(opts, ref)
	for {
		row, ok := g.next()
		if !ok {
			break
		}
		b.Rows = append(b.Rows, *row)
	}
	return b, ref
}

// WriteFile streams a generated workbook to path without holding its rows
// in memory (100,000-row benchmark files) and returns its reference data.
func WriteFile(path string, opts Options) (*ReferenceData, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	ref, err := Write(f, opts)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return ref, err
}

// Write streams a generated workbook to w.
func Write(w io.Writer, opts Options) (*ReferenceData, error) {
	opts = opts.withDefaults()
	ref := Reference(opts)
	g := newGenerator(opts, ref)
	err := writeBook(w, &Book{Date1904: opts.Date1904, TrailingRows: opts.TrailingRows}, g.next)
	return ref, err
}

type generator struct {
	opts    Options
	ref     *ReferenceData
	rng     *rand.Rand
	byMode  map[string][]*CourseTemplate
	counter map[string]int
	events  int
	rows    int
	pending []Row
	exam    time.Time
	yy      string
}

func newGenerator(opts Options, ref *ReferenceData) *generator {
	g := &generator{opts: opts, ref: ref, rng: rand.New(rand.NewPCG(opts.Seed, 0x6e6e)),
		byMode: map[string][]*CourseTemplate{}, counter: map[string]int{}}
	for i := range ref.CourseTemplates {
		ct := &ref.CourseTemplates[i]
		g.byMode[ct.LearningMode] = append(g.byMode[ct.LearningMode], ct)
	}
	year, _ := strconv.Atoi(strings.TrimRight(opts.Sitting, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))
	if year < 2000 {
		year = 2026
	}
	month := time.April
	if strings.HasSuffix(strings.ToUpper(opts.Sitting), "S") {
		month = time.September
	}
	g.exam = time.Date(year, month, 10, 0, 0, 0, 0, time.UTC)
	g.yy = fmt.Sprintf("%02d%s", year%100, strings.ToUpper(opts.Sitting[len(opts.Sitting)-1:]))
	return g
}

func (g *generator) next() (*Row, bool) {
	for len(g.pending) == 0 {
		if g.opts.Rows > 0 {
			if g.rows >= g.opts.Rows {
				return nil, false
			}
		} else if g.events >= g.opts.Events {
			return nil, false
		}
		g.events++
		g.pending = g.event()
	}
	r := g.pending[0]
	g.pending = g.pending[1:]
	g.rows++
	return &r, true
}

// event makes the rows of one event: the event row (also session 1) and one
// row per further session.
func (g *generator) event() []Row {
	var mode string
	switch p := g.rng.IntN(100); {
	case p < 10:
		mode = LMS
	case p < 18:
		mode = Classroom
	default:
		mode = Blended
	}
	cts := g.byMode[mode]
	ct := cts[g.rng.IntN(len(cts))]
	subj, variation := CodeParts(ct.Code)
	// Titles number the events of a subject per title prefix, so they are
	// unique in a workbook (the event title becomes the tutorial event code).
	prefix := map[string]string{LMS: "OC", Classroom: "ECR", Blended: "ELO"}[mode]
	g.counter[prefix+subj]++
	n := g.counter[prefix+subj]
	sitting := g.opts.Sitting
	lmsStart := g.exam.AddDate(0, -7, -9+g.rng.IntN(40))
	lmsEnd := g.exam
	var r Row
	r.Set("A", Text(ct.Code))
	r.Set("G", Text("Europe - London"))
	r.Set("Z", Text(sitting))
	r.Set("AF", Text("N"))
	if mode == LMS {
		title := fmt.Sprintf("ELO-%s-OC-%s", subj, g.yy)
		if n > 1 {
			title = fmt.Sprintf("ELO-%s-OC%d-%s", subj, n, g.yy)
		}
		r.Set("B", Text(title))
		r.Set("D", Text("Self Paced (LMS)"))
		r.Set("E", Text("Online"))
		r.Set("L", DateOf(lmsStart.AddDate(0, -1, 0)))
		r.Set("M", Clock(0, 0))
		r.Set("N", DateOf(lmsEnd.AddDate(0, 0, 20)))
		r.Set("O", Clock(0, 0))
		r.Set("AA", Text(subj+" OC"))
		r.Set("AF", Value{})
		return []Row{r}
	}
	title := fmt.Sprintf("%s-%s-%02d-%s", prefix, subj, n, g.yy)
	var location, venue string
	live := strings.HasPrefix(variation, "LO")
	if live {
		location, venue = "Live online", "Live online"
	} else {
		p := physical[g.rng.IntN(len(physical))]
		location, venue = p.location, "To be confirmed"
		if g.rng.IntN(10) < 4 {
			venue = p.venue
		}
	}
	modeText := "Blended"
	if mode == Classroom {
		modeText = "Classroom"
	}
	main := ct.Approved[g.rng.IntN(len(ct.Approved))]
	start := g.exam.AddDate(0, -5, -10+g.rng.IntN(90))
	times := [][4]int{{9, 30, 17, 0}, {9, 0, 12, 30}, {13, 45, 17, 15}, {9, 30, 16, 30}}
	slot := times[0]
	if live {
		slot = times[1+g.rng.IntN(3)]
	}
	gap := 7
	if mode == Classroom {
		gap = 1
	}
	r.Set("B", Text(title))
	r.Set("D", Text(modeText))
	r.Set("P", Num(float64(map[bool]int{true: 14, false: 12}[live])))
	r.Set("R", Text(main))
	r.Set("X", DateOf(start.AddDate(0, 0, -14)))
	r.Set("Y", Text([]string{"N", "N", "N", "Y"}[g.rng.IntN(4)]))
	if mode == Blended {
		r.Set("L", DateOf(lmsStart))
		r.Set("M", Clock(16, 0))
		r.Set("N", DateOf(lmsEnd))
		r.Set("O", Clock(0, 0))
	}
	if live && g.rng.IntN(3) == 0 {
		r.Set("V", Text(fmt.Sprintf("https://meet.example.com/%s/", strings.ToLower(subj)+"lo")))
	}
	switch p := g.rng.IntN(100); {
	case p < 3:
		a, b := g.ref.Administrators[0].FullName(), g.ref.Administrators[1+g.rng.IntN(3)].FullName()
		r.Set("T", Text(a+" / "+b))
	case p < 8:
		r.Set("T", Text(g.ref.Administrators[g.rng.IntN(4)].FullName()))
	}
	rows := make([]Row, 0, ct.Sessions)
	for day := 1; day <= ct.Sessions; day++ {
		s := r
		if day > 1 {
			s = Row{}
			s.Set("AF", Text("N"))
			if mode == Blended {
				s.Set("M", Clock(16, 0))
				s.Set("O", Clock(0, 0))
			}
		}
		date := start.AddDate(0, 0, (day-1)*gap)
		s.Set("C", Text(fmt.Sprintf("%s-%d", title, day)))
		s.Set("D", Text(modeText))
		s.Set("E", Text(location))
		s.Set("F", Text(venue))
		s.Set("G", Text("Europe - London"))
		s.Set("H", DateOf(date))
		s.Set("I", Text(fmt.Sprintf("%02d:%02d", slot[0], slot[1])))
		s.Set("J", DateOf(date))
		s.Set("K", Text(fmt.Sprintf("%02d:%02d", slot[2], slot[3])))
		inst := main
		if g.rng.IntN(10) == 0 {
			inst = ct.Approved[g.rng.IntN(len(ct.Approved))]
		}
		s.Set("S", Text(inst))
		s.Set("U", Num(float64(day)))
		if live && g.rng.IntN(5) == 0 {
			s.Set("W", Text(fmt.Sprintf("https://meet.example.com/%s/day%d", strings.ToLower(title), day)))
		}
		rows = append(rows, s)
	}
	return rows
}
