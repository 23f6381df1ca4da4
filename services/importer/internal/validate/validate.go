package validate

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"admsync/pkg/match"
	"admsync/services/importer/internal/workbook"
)

// Validator groups rows into events as they stream in and checks them.
// Call Add for every data row in sheet order, then Finish, then
// CheckExisting (when a database is at hand).
type Validator struct {
	ref *Ref
	lay *workbook.Layout

	Events []*Event
	cur    *Event

	zones   map[string]zoneResult
	locs    map[string]locResult
	people  map[string]personResult
	admins  map[string]adminResult
	tmpls   map[string]tmplResult
	rows    int
	eventFn func(*Event) // called when a group is complete and settled
	byKey   map[string]int
	byTitle map[string]int
}

type zoneResult struct {
	loc  *time.Location
	name string
	err  string
}

type locResult struct {
	loc       *location
	msg, hint string
}

type personResult struct {
	in        *instructor
	msg, hint string
}

type adminResult struct {
	a         *administrator
	msg, hint string
}

type tmplResult struct {
	t         *template
	msg, hint string
}

// New returns a validator for one file.
func New(ref *Ref, lay *workbook.Layout) *Validator {
	return &Validator{ref: ref, lay: lay, zones: map[string]zoneResult{}, locs: map[string]locResult{},
		people: map[string]personResult{}, admins: map[string]adminResult{}, tmpls: map[string]tmplResult{}}
}

// Rows is the number of data rows added.
func (v *Validator) Rows() int { return v.rows }

// Add takes the next data row with the problems found while parsing it.
func (v *Validator) Add(row workbook.Row, parseProblems []workbook.Problem) {
	v.rows++
	rr := RowResult{Row: row.Row, Kind: row.Kind, Problems: parseProblems}
	p := &rowCtx{v: v, rr: &rr}
	p.checkLengths(&row)
	switch row.Kind {
	case workbook.KindEvent:
		v.closeGroup()
		e := &Event{Row: row.Row}
		v.cur = e
		v.Events = append(v.Events, e)
		v.event(e, row, p)
	case workbook.KindSession:
		if v.cur == nil || v.cur.Orphan {
			if v.cur == nil {
				v.cur = &Event{Row: row.Row, Orphan: true}
				v.Events = append(v.Events, v.cur)
			}
			p.add(workbook.ColCode, "", "this session row comes before any event row", "put the event row (with a course template code in column A) above its sessions")
		} else {
			v.session(v.cur, row, p)
		}
	default:
		return
	}
	v.cur.Rows = append(v.cur.Rows, rr)
}

// Finish completes the last event. Each event is settled (accepted,
// rejected, or a duplicate of an earlier one in the file) as soon as its
// group is complete, so callers may write settled events while later rows
// are still being read.
func (v *Validator) Finish() {
	v.closeGroup()
}

// settle decides an event's status from its own problems and the events
// before it in the file: the same natural key again is a duplicate; the
// same title with a different key is a clash (titles become unique codes).
func (v *Validator) settle(e *Event) {
	if v.byKey == nil {
		v.byKey, v.byTitle = map[string]int{}, map[string]int{}
	}
	if e.Problems() > 0 || e.Orphan {
		e.Status = Rejected
		return
	}
	if first, ok := v.byKey[e.NaturalKey]; ok {
		e.Status = Duplicate
		e.Note = fmt.Sprintf("same course template, title and start as the event at row %d; skipped", first)
		return
	}
	v.byKey[e.NaturalKey] = e.Row
	if first, ok := v.byTitle[e.Title]; ok {
		e.Rows[0].Problems = append(e.Rows[0].Problems, v.lay.Problem(e.Row, workbook.ColEventTitle, e.Title,
			fmt.Sprintf("the event at row %d already has this title with a different course template or start", first),
			"event titles become tutorial event codes and must be unique: rename one of them"))
		e.Status = Rejected
		return
	}
	v.byTitle[e.Title] = e.Row
	e.Status = Accepted
}

// OnEvent registers a callback run as each event group completes.
func (v *Validator) OnEvent(fn func(*Event)) { v.eventFn = fn }

// CheckExisting is CheckExisting for the validator's events.
func (v *Validator) CheckExisting(ctx context.Context, q Querier) error {
	return CheckExisting(ctx, q, v.lay, v.Events)
}

// CheckExisting marks as duplicates the accepted events already imported
// earlier, and rejects those whose title is already a tutorial event code
// created some other way. An event is the same as an earlier import when it
// has the same natural key, or the same title (the tutorial event code):
// a corrected Day 1 start changes the natural key, not the event. Such
// events get Existing set; the corrections package then tells an unchanged
// one (skipped) from a changed one. Run it again inside the write
// transaction.
func CheckExisting(ctx context.Context, q Querier, lay *workbook.Layout, events []*Event) error {
	var keys, titles []string
	for _, e := range events {
		if e.Status == Accepted {
			keys = append(keys, e.NaturalKey)
			titles = append(titles, e.Title)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	imported := map[string][2]int64{}
	// Both look-ups are planned for each call (pgx's unnamed statement, see
	// OnePlan): the writer runs them once per batch while its own
	// transaction grows the tables, and the generic plan PostgreSQL
	// switches to after five executions was planned when the tables were
	// small — a scan testing each row against the whole array, so checking
	// the batch took longer with every batch (2 s for the 50th batch of 500
	// events of a 100,000-row import).
	rows, err := q.Query(ctx, `SELECT natural_key, import_run_id, tutorial_event_id FROM admsync.import_events WHERE natural_key = ANY($1)`, OnePlan, keys)
	if err != nil {
		return fmt.Errorf("check earlier imports: %w", err)
	}
	for rows.Next() {
		var k string
		var run, id int64
		if err := rows.Scan(&k, &run, &id); err != nil {
			rows.Close()
			return fmt.Errorf("check earlier imports: %w", err)
		}
		imported[k] = [2]int64{run, id}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("check earlier imports: %w", err)
	}
	type code struct {
		id, run int64 // run 0: not made by an import
	}
	codes := map[string]code{}
	rows, err = q.Query(ctx, `SELECT te.code, te.id, coalesce(ie.import_run_id, 0) FROM acted.tutorial_events te
		LEFT JOIN admsync.import_events ie ON ie.tutorial_event_id = te.id WHERE te.code = ANY($1)`, OnePlan, titles)
	if err != nil {
		return fmt.Errorf("check existing tutorial events: %w", err)
	}
	for rows.Next() {
		var c string
		var x code
		if err := rows.Scan(&c, &x.id, &x.run); err != nil {
			rows.Close()
			return fmt.Errorf("check existing tutorial events: %w", err)
		}
		codes[c] = x
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("check existing tutorial events: %w", err)
	}
	for _, e := range events {
		if e.Status != Accepted {
			continue
		}
		if got, ok := imported[e.NaturalKey]; ok {
			e.Status, e.Existing = Duplicate, got[1]
			e.Note = fmt.Sprintf("already imported (import run %d, tutorial event %d); skipped", got[0], got[1])
			continue
		}
		if x, ok := codes[e.Title]; ok {
			if x.run != 0 {
				e.Status, e.Existing = Duplicate, x.id
				e.Note = fmt.Sprintf("already imported (import run %d, tutorial event %d); skipped", x.run, x.id)
				continue
			}
			e.Status = Rejected
			e.Rows[0].Problems = append(e.Rows[0].Problems, lay.Problem(e.Row, workbook.ColEventTitle, e.Title,
				fmt.Sprintf("a tutorial event with this code already exists (id %d) and was not made by an import", x.id),
				"rename the event, or delete the old tutorial event if it is a mistake"))
		}
	}
	return nil
}

// maxCached bounds the keys the per-file lookup caches keep: a hostile
// file of long distinct names must not grow them without limit.
const maxCached = 256

// rowCtx collects one row's problems.
type rowCtx struct {
	v  *Validator
	rr *RowResult
}

func (p *rowCtx) add(col workbook.Col, value, msg, hint string) {
	p.rr.Problems = append(p.rr.Problems, p.v.lay.Problem(p.rr.Row, col, value, msg, hint))
}

func (p *rowCtx) required(col workbook.Col, value, what string) bool {
	if value == "" && p.hasProblem(col) {
		return false // already refused, e.g. too long
	}
	if value == "" {
		p.add(col, "", "is required "+what, "fill it in")
		return false
	}
	return true
}

// ModeOf reads column D.
func ModeOf(s string) (string, bool) {
	switch match.Key(s) {
	case "blended", "live online":
		return Blended, true
	case "self paced (lms)", "lms", "self paced", "self-paced (lms)":
		return LMS, true
	case "classroom", "f2f", "face to face":
		return Classroom, true
	}
	return "", false
}

// CodeIsLMS applies the code rule: a code with an "OC" or "WAITLIST" part
// (between underscores) is an LMS course template.
func CodeIsLMS(code string) bool {
	for _, part := range strings.Split(code, "_") {
		if strings.EqualFold(part, "OC") || strings.EqualFold(part, "WAITLIST") {
			return true
		}
	}
	return false
}

// CodeParts splits a code into product subject and variation ("CB1_LO_6" →
// CB1, LO_6; "OC_SA7" → SA7, OC).
func CodeParts(code string) (subject, variation string) {
	if len(code) >= 3 && strings.EqualFold(code[:3], "OC_") {
		return code[3:], "OC"
	}
	if s, v, ok := strings.Cut(code, "_"); ok {
		return s, v
	}
	return code, ""
}

// ZoneOf maps Administrate's "Region - City" label (or an IANA name) to a
// time zone: "Europe - London" → Europe/London, "America - New York" →
// America/New_York.
func ZoneOf(label string) (*time.Location, string, error) {
	s := strings.TrimSpace(label)
	if s == "" {
		return nil, "", fmt.Errorf("is required")
	}
	name := s
	if strings.Contains(s, " - ") {
		parts := strings.Split(s, " - ")
		for i, p := range parts {
			parts[i] = strings.ReplaceAll(strings.TrimSpace(p), " ", "_")
		}
		name = strings.Join(parts, "/")
	}
	if !strings.Contains(name, "/") && name != "UTC" {
		return nil, "", fmt.Errorf("is not a time zone: use Administrate's \"Region - City\" label, e.g. Europe - London")
	}
	loc, err := time.LoadLocation(name)
	if err != nil || strings.EqualFold(name, "local") {
		return nil, "", fmt.Errorf("is not a known time zone (%s)", name)
	}
	return loc, name, nil
}

func (v *Validator) zone(p *rowCtx, raw string) (*time.Location, string) {
	r, ok := v.zones[raw]
	if !ok {
		loc, name, err := ZoneOf(raw)
		r = zoneResult{loc: loc, name: name}
		if err != nil {
			r.err = err.Error()
		}
		if len(raw) <= maxCached {
			v.zones[raw] = r
		}
	}
	if r.err == "" && v.ref.zoneLimit.Max > 0 && len(r.name) > v.ref.zoneLimit.Max {
		r.err = fmt.Sprintf("names time zone %s, longer than the %d characters %s holds", r.name, v.ref.zoneLimit.Max, v.ref.zoneLimit.Target)
	}
	if r.err != "" {
		p.add(workbook.ColTimeZone, raw, r.err, "use Administrate's \"Region - City\" label, e.g. Europe - London")
		return nil, ""
	}
	return r.loc, r.name
}

func (v *Validator) template(p *rowCtx, code string) *template {
	r, ok := v.tmpls[code]
	if !ok {
		cands := v.ref.templates[match.Key(code)]
		switch {
		case len(cands) == 0:
			r.msg, r.hint = "no active tutorial course template has this code", "check the code, or add the course template to the tutorial catalogue"
		case len(cands) > 1:
			r.msg = "is ambiguous: tutorial course templates " + describeIDs(cands, func(t *template) string { return fmt.Sprintf("%d %q", t.id, t.code) }) + " both match"
			r.hint = "rename or deactivate one of them"
		case cands[0].admID == 0:
			r.msg, r.hint = "the tutorial course template is not linked to an Administrate course template", "run `syncer run course-templates` (or create it in Administrate) and import again"
		case cands[0].bridges > 1:
			r.msg, r.hint = "the tutorial course template is linked to more than one Administrate course template", "fix the links with `syncer run course-templates`"
		default:
			r.t = cands[0]
		}
		v.tmpls[code] = r
	}
	if r.t == nil {
		p.add(workbook.ColCode, code, r.msg, r.hint)
	}
	return r.t
}

func (v *Validator) location(p *rowCtx, name string) *location {
	r, ok := v.locs[name]
	if !ok {
		cands := v.ref.locations[match.Key(name)]
		switch {
		case len(cands) == 0:
			r.msg, r.hint = "no active tutorial location has this name", "check the spelling, or add the location to the tutorial catalogue"
		case len(cands) > 1:
			r.msg = "is ambiguous: tutorial locations " + describeIDs(cands, func(l *location) string { return fmt.Sprintf("%d %q", l.id, l.name) }) + " both match"
			r.hint = "rename or deactivate one of them"
		case cands[0].external == "":
			r.msg, r.hint = "the tutorial location is not linked to an Administrate location", "run `syncer run locations` and import again"
		case cands[0].bridges > 1:
			r.msg, r.hint = "the tutorial location is linked to more than one Administrate location", "fix the links with `syncer run locations`"
		default:
			r.loc = cands[0]
		}
		v.locs[name] = r
	}
	if r.loc == nil {
		p.add(workbook.ColLocation, name, r.msg, r.hint)
	}
	return r.loc
}

// IsTBC reports a venue that is not decided yet.
func IsTBC(v string) bool {
	switch match.Key(v) {
	case "", "to be confirmed", "tbc", "tbd":
		return true
	}
	return false
}

func (v *Validator) venue(p *rowCtx, loc *location, name string) int64 {
	cands := v.ref.venues[venueKey(loc.id, name)]
	switch {
	case len(cands) == 0:
		p.add(workbook.ColVenue, name, fmt.Sprintf("no tutorial venue has this name in location %q", loc.name), "check the spelling, use \"To be confirmed\", or add the venue")
	case len(cands) > 1:
		p.add(workbook.ColVenue, name, "is ambiguous: tutorial venues "+describeIDs(cands, func(x *venue) string { return fmt.Sprintf("%d %q", x.id, x.name) })+" both match", "rename one of them")
	case cands[0].external == "":
		p.add(workbook.ColVenue, name, "the tutorial venue is not linked to an Administrate venue", "run `syncer run venues` and import again")
	case cands[0].bridges > 1:
		p.add(workbook.ColVenue, name, "the tutorial venue is linked to more than one Administrate venue", "fix the links with `syncer run venues`")
	default:
		return cands[0].id
	}
	return 0
}

// instructors resolves every name of an instructor cell and checks each is
// approved for the course template t (nil when t did not resolve).
func (v *Validator) instructors(p *rowCtx, col workbook.Col, cell string, t *template) []int64 {
	var ids []int64
	for _, name := range match.SplitNames(cell) {
		r, ok := v.people[name]
		if !ok {
			cands := v.ref.instructors[match.Key(name)]
			switch {
			case len(cands) == 0:
				r.msg, r.hint = fmt.Sprintf("no active tutorial instructor is called %q", name), "check the spelling (first name then last name), or add the instructor"
			case len(cands) > 1:
				r.msg = fmt.Sprintf("%q is ambiguous: tutorial instructors %s both match", name, describeIDs(cands, func(x *instructor) string { return fmt.Sprintf("%d %q", x.id, x.name) }))
				r.hint = "make the names distinct in the tutorial catalogue"
			case cands[0].external == "":
				r.msg, r.hint = fmt.Sprintf("instructor %q is not linked to an Administrate contact", name), "run `syncer run instructors` and import again"
			case cands[0].bridges > 1:
				r.msg, r.hint = fmt.Sprintf("instructor %q is linked to more than one Administrate contact", name), "fix the links with `syncer run instructors`"
			default:
				r.in = cands[0]
			}
			if len(name) <= maxCached {
				v.people[name] = r
			}
		}
		if r.in == nil {
			p.add(col, cell, r.msg, r.hint)
			continue
		}
		if t != nil && !t.approved[r.in.external] {
			p.add(col, cell, fmt.Sprintf("instructor %q is not approved for course template %s", name, t.code), "approve the instructor for the course template in Administrate, run `syncer run course-templates`, and import again")
			continue
		}
		ids = append(ids, r.in.id)
	}
	return ids
}

func (v *Validator) administrators(p *rowCtx, cell string) []string {
	var ids []string
	for _, name := range match.SplitNames(cell) {
		r, ok := v.admins[name]
		if !ok {
			cands := v.ref.admins[match.Key(name)]
			switch {
			case len(cands) == 0:
				r.msg, r.hint = fmt.Sprintf("no Administrate administrator is called %q", name), "check the spelling, or run `syncer run instructors` (it also mirrors the administrators)"
			case len(cands) > 1:
				r.msg = fmt.Sprintf("%q is ambiguous: administrators %s both match", name, describeIDs(cands, func(x *administrator) string { return x.external }))
				r.hint = "make the contacts' names distinct in Administrate"
			default:
				r.a = cands[0]
			}
			if len(name) <= maxCached {
				v.admins[name] = r
			}
		}
		if r.a == nil {
			p.add(workbook.ColAdministrator, cell, r.msg, r.hint)
			continue
		}
		ids = append(ids, r.a.external)
	}
	return ids
}

func validURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && !strings.ContainsAny(s, " \t")
}

// at combines a date and a time cell into a wall-clock time in loc; missing
// halves are reported as required (what explains why).
func (p *rowCtx) at(dt workbook.DateTime, dc, tc workbook.Col, loc *time.Location, what string) time.Time {
	ok := true
	if !dt.HasDate && !p.hasProblem(dc) {
		p.add(dc, "", "is required "+what, "enter the date as DD/MM/YYYY")
		ok = false
	}
	if !dt.HasTime && !p.hasProblem(tc) {
		p.add(tc, "", "is required "+what, "enter the time as HH:MM")
		ok = false
	}
	if !ok || !dt.HasDate || !dt.HasTime || loc == nil {
		return time.Time{}
	}
	return time.Date(dt.Date.Year, dt.Date.Month, dt.Date.Day, int(dt.Clock)/60, int(dt.Clock)%60, 0, 0, loc)
}

func (p *rowCtx) hasProblem(col workbook.Col) bool {
	letter := p.v.lay.Letters[col]
	for _, pr := range p.rr.Problems {
		if pr.Column == letter {
			return true
		}
	}
	return false
}

func fmtWall(t time.Time) string { return t.Format("02/01/2006 15:04") }

func (v *Validator) event(e *Event, row workbook.Row, p *rowCtx) {
	e.Code, e.Title = row.Code, row.EventTitle
	t := v.template(p, row.Code)
	if t != nil {
		e.CourseTemplateID = t.id
	}
	p.required(workbook.ColEventTitle, row.EventTitle, "on an event row")

	// Learning mode: column D, cross-checked with the code and with the
	// Administrate course template.
	codeLMS := CodeIsLMS(row.Code)
	mode, ok := ModeOf(row.LearningMode)
	switch {
	case row.LearningMode == "":
		p.add(workbook.ColLearningMode, "", "is required on an event row", "enter Blended, Self Paced (LMS) or Classroom")
	case !ok:
		p.add(workbook.ColLearningMode, row.LearningMode, "is not a learning mode", "enter Blended, Self Paced (LMS) or Classroom")
	case mode == LMS && !codeLMS:
		p.add(workbook.ColLearningMode, row.LearningMode, fmt.Sprintf("says LMS but course template %s is not an LMS (OC or WAITLIST) template", row.Code), "correct the learning mode or the course template code")
	case mode != LMS && codeLMS:
		p.add(workbook.ColLearningMode, row.LearningMode, fmt.Sprintf("course template %s is an LMS template, so the learning mode must be Self Paced (LMS)", row.Code), "correct the learning mode or the course template code")
	case t != nil && t.mode != "" && t.mode != mode:
		p.add(workbook.ColLearningMode, row.LearningMode, fmt.Sprintf("the Administrate course template %s is %s", row.Code, strings.ToLower(t.mode)), "correct the learning mode, or the course template in Administrate")
	}
	if !ok || mode == "" {
		mode = Blended
		if codeLMS {
			mode = LMS
		}
	}
	e.Mode = mode

	e.Zone, e.ZoneName = v.zone(p, row.TimeZone)

	if p.required(workbook.ColLocation, row.Location, "on an event row") {
		if loc := v.location(p, row.Location); loc != nil {
			e.LocationID = loc.id
			if !IsTBC(row.Venue) {
				e.VenueID = v.venue(p, loc, row.Venue)
			}
		}
	}

	forMode := map[string]string{Blended: "for a blended event", LMS: "for an LMS event", Classroom: "for a classroom event"}[mode]
	if mode == Blended || mode == LMS {
		e.LMSStart = p.at(row.LMSStart, workbook.ColLMSStartDate, workbook.ColLMSStartTime, e.Zone, forMode)
		e.LMSEnd = p.at(row.LMSEnd, workbook.ColLMSEndDate, workbook.ColLMSEndTime, e.Zone, forMode)
		if !e.LMSStart.IsZero() && !e.LMSEnd.IsZero() && !e.LMSEnd.After(e.LMSStart) {
			p.add(workbook.ColLMSEndDate, row.LMSEnd.Date.String()+" "+row.LMSEnd.Clock.String(), "the LMS end is not after the LMS start ("+fmtWall(e.LMSStart)+")", "correct the LMS dates")
		}
	}
	if mode == LMS {
		p.required(workbook.ColOCRMoodleCode, row.OCR, forMode)
		e.OCR = row.OCR
	} else {
		e.OCR = row.OCR
		if !row.HasMaxPlaces && !p.hasProblem(workbook.ColMaxPlaces) {
			p.add(workbook.ColMaxPlaces, "", "is required "+forMode, "enter the number of places")
		} else if row.HasMaxPlaces && row.MaxPlaces < 1 {
			p.add(workbook.ColMaxPlaces, strconv.Itoa(row.MaxPlaces), "must be at least 1", "enter the number of places")
		}
		if row.Finalisation.IsZero() && !p.hasProblem(workbook.ColFinalisationDate) {
			p.add(workbook.ColFinalisationDate, "", "is required "+forMode, "enter the date as DD/MM/YYYY")
		}
	}
	e.MaxPlaces, e.HasMaxPlaces = row.MaxPlaces, row.HasMaxPlaces
	e.Finalisation = row.Finalisation

	if p.required(workbook.ColSitting, row.Sitting, "on an event row") {
		e.Sitting = row.Sitting
	}
	switch match.Key(row.WebSale) {
	case "", "n", "no":
	case "y", "yes":
		e.WebSale = true
	default:
		p.add(workbook.ColWebSale, row.WebSale, "is not Y or N", "enter Y, N or leave it blank (N)")
	}
	if row.EventURL != "" && !validURL(row.EventURL) {
		p.add(workbook.ColEventURL, row.EventURL, "is not a valid http(s) URL", "enter a full address starting with https://")
	}
	e.EventURL = row.EventURL
	v.instructors(p, workbook.ColInstructor, row.Instructor, t)
	e.AdministratorIDs = v.administrators(p, row.Administrator)

	// Product: subject and variation from the code, and the sitting.
	subject, variation := CodeParts(row.Code)
	if row.Code != "" && row.Sitting != "" {
		cands := v.ref.products[productKey(subject, row.Sitting, variation)]
		switch {
		case len(cands) == 0:
			p.add(workbook.ColCode, row.Code, fmt.Sprintf("no active product for subject %s, sitting %s, variation %s", subject, row.Sitting, variation), "add the product to the catalogue, or correct the code or the sitting (column Z)")
		case len(cands) > 1:
			p.add(workbook.ColCode, row.Code, "the product is ambiguous: products "+describeIDs(cands, func(x *product) string { return fmt.Sprintf("%d %q", x.id, x.code) })+" both match", "deactivate one of them")
		default:
			e.ProductID = cands[0].id
		}
	}

	if mode != LMS {
		// The event row is session 1.
		v.session(e, row, p)
		if len(e.Sessions) > 0 {
			e.ClassroomStart, e.ClassroomEnd = e.Sessions[0].Start, e.Sessions[0].End
		}
	}
}

func (v *Validator) session(e *Event, row workbook.Row, p *rowCtx) {
	if row.Kind == workbook.KindSession && e.Mode == LMS {
		p.add(workbook.ColSessionTitle, row.SessionTitle, fmt.Sprintf("LMS events have no sessions, but this row follows the LMS event at row %d", e.Row), "delete the row, or give it a course template code if it is a new event")
		return
	}
	s := &Session{Row: row.Row, Title: row.SessionTitle, URL: row.SessionURL}
	p.required(workbook.ColSessionTitle, row.SessionTitle, "for every session")
	if !row.HasDay && !p.hasProblem(workbook.ColDay) {
		p.add(workbook.ColDay, "", "is required for every session", "number the sessions 1, 2, 3, …")
	} else if row.HasDay && row.Day < 1 {
		p.add(workbook.ColDay, strconv.Itoa(row.Day), "must be 1 or more", "number the sessions 1, 2, 3, …")
	}
	s.Day = row.Day
	zone := e.Zone
	if row.Kind == workbook.KindSession && row.TimeZone != "" {
		zone, _ = v.zone(p, row.TimeZone)
	}
	s.Start = p.at(row.ClassroomStart, workbook.ColClassroomStartDate, workbook.ColClassroomStartTime, zone, "for every session")
	s.End = p.at(row.ClassroomEnd, workbook.ColClassroomEndDate, workbook.ColClassroomEndTime, zone, "for every session")
	if !s.Start.IsZero() && !s.End.IsZero() && !s.End.After(s.Start) {
		p.add(workbook.ColClassroomEndDate, row.ClassroomEnd.Date.String()+" "+row.ClassroomEnd.Clock.String(), "the session does not end after it starts ("+fmtWall(s.Start)+")", "correct the end date or time")
	}
	if row.SessionURL != "" && !validURL(row.SessionURL) {
		p.add(workbook.ColSessionURL, row.SessionURL, "is not a valid http(s) URL", "enter a full address starting with https://")
	}
	var t *template
	if e.CourseTemplateID != 0 {
		t = v.tmpls[e.Code].t
	}
	if e.CourseTemplateID != 0 || row.Kind == workbook.KindEvent {
		s.InstructorIDs = v.instructors(p, workbook.ColSessionInstructor, row.SessionInstructor, t)
	} else if row.SessionInstructor != "" {
		// The event's template did not resolve: still check the names exist.
		s.InstructorIDs = v.instructors(p, workbook.ColSessionInstructor, row.SessionInstructor, nil)
	}
	e.Sessions = append(e.Sessions, s)
}

// closeGroup runs the checks that need the whole event: Days 1..n without
// gaps or repeats, sessions in Day order, inside the LMS window, the
// session count the course template code promises, and the natural key.
func (v *Validator) closeGroup() {
	e := v.cur
	if e == nil {
		return
	}
	v.cur = nil
	defer func() {
		v.settle(e)
		if v.eventFn != nil {
			v.eventFn(e)
		}
	}()
	if e.Orphan || e.Mode == LMS {
		if e.Mode == LMS && !e.Orphan {
			e.NaturalKey = naturalKey(e.Code, e.Title, e.LMSStart)
		}
		return
	}
	rowIdx := map[int]int{}
	for i, r := range e.Rows {
		rowIdx[r.Row] = i
	}
	add := func(row int, col workbook.Col, value, msg, hint string) {
		i, ok := rowIdx[row]
		if !ok {
			i = 0
		}
		e.Rows[i].Problems = append(e.Rows[i].Problems, v.lay.Problem(row, col, value, msg, hint))
	}
	// The event row was appended to Rows after its session was recorded.
	if _, ok := rowIdx[e.Row]; !ok {
		return
	}
	seen := map[int]*Session{}
	for _, s := range e.Sessions {
		if s.Day < 1 {
			continue
		}
		if first, ok := seen[s.Day]; ok {
			add(s.Row, workbook.ColDay, strconv.Itoa(s.Day), fmt.Sprintf("Day %d repeats the session at row %d", s.Day, first.Row), "number the sessions 1, 2, 3, … without repeats")
			continue
		}
		seen[s.Day] = s
	}
	n := len(e.Sessions)
	for d := 1; d <= n; d++ {
		if _, ok := seen[d]; !ok && len(seen) > 0 {
			last := e.Sessions[n-1]
			add(last.Row, workbook.ColDay, strconv.Itoa(last.Day), fmt.Sprintf("Day %d is missing: the event's %d sessions must be numbered 1 to %d", d, n, n), "number the sessions 1, 2, 3, … without gaps")
			break
		}
	}
	if want, err := strconv.Atoi(lastPart(e.Code)); err == nil && want > 0 && want != n {
		add(e.Row, workbook.ColCode, e.Code, fmt.Sprintf("course template %s has %d sessions but the event has %d session rows", e.Code, want, n), "add or remove session rows so each session of the course template has one")
	}
	ordered := make([]*Session, 0, n)
	for _, s := range e.Sessions {
		if !s.Start.IsZero() && s.Day >= 1 {
			ordered = append(ordered, s)
		}
	}
	sort.SliceStable(ordered, func(i, j int) bool { return ordered[i].Day < ordered[j].Day })
	for i := 1; i < len(ordered); i++ {
		prev, s := ordered[i-1], ordered[i]
		if s.Day != prev.Day && !s.Start.After(prev.Start) {
			add(s.Row, workbook.ColClassroomStartDate, fmtWall(s.Start), fmt.Sprintf("Day %d starts before Day %d (row %d, %s)", s.Day, prev.Day, prev.Row, fmtWall(prev.Start)), "sessions must be in Day order: correct the date or the Day")
		}
	}
	if !e.LMSStart.IsZero() && !e.LMSEnd.IsZero() {
		for _, s := range e.Sessions {
			if s.Start.IsZero() || s.End.IsZero() {
				continue
			}
			if s.Start.Before(e.LMSStart) || s.End.After(e.LMSEnd) {
				add(s.Row, workbook.ColClassroomStartDate, fmtWall(s.Start), fmt.Sprintf("the session (%s – %s) is outside the event's LMS window (%s – %s)", fmtWall(s.Start), fmtWall(s.End), fmtWall(e.LMSStart), fmtWall(e.LMSEnd)), "correct the session date (a wrong year?) or the LMS window on the event row")
			}
		}
	}
	first := e.ClassroomStart
	for _, s := range ordered {
		if s.Day == 1 {
			first = s.Start
		}
	}
	e.NaturalKey = naturalKey(e.Code, e.Title, first)
}

func lastPart(code string) string {
	if i := strings.LastIndex(code, "_"); i >= 0 {
		return code[i+1:]
	}
	return ""
}

// naturalKey identifies an event across imports: course template, title
// and first start (wall clock and zone).
func naturalKey(code, title string, start time.Time) string {
	st := ""
	if !start.IsZero() {
		st = start.Format("2006-01-02T15:04") + " " + start.Location().String()
	}
	return match.Key(code) + "|" + match.Key(title) + "|" + st
}
