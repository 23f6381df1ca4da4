package syncer

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

var instructorsTable = &table{
	name: "adm.instructors",
	key:  []string{"external_id"},
	cols: []column{{"legacy_id", colText}, {"first_name", colText}, {"last_name", colText},
		{"is_active", colBool}, {"tutorial_instructor_id", colBigint}},
	touch:     []string{"updated_at", "last_synced"},
	hasGone:   true,
	labelCols: []string{"first_name", "last_name"},
	linkCol:   "tutorial_instructor_id",
}

// administratorsTable mirrors administrator contacts so the importer can
// resolve the workbook's "Event administrator" column without Administrate.
var administratorsTable = &table{
	name:      "adm.administrators",
	key:       []string{"external_id"},
	cols:      []column{{"first_name", colText}, {"last_name", colText}},
	touch:     []string{"updated_at"},
	hasGone:   true,
	labelCols: []string{"first_name", "last_name"},
}

type instructorsStage struct {
	instructors, admins []Contact
	tutorialRecords
}

func (s *instructorsStage) info() Info { return Infos[StageInstructors] }

func (s *instructorsStage) prerequisites(context.Context, querier, *runContext) error { return nil }

func (s *instructorsStage) fetch(ctx context.Context, rc *runContext) error {
	var err error
	if s.instructors, err = rc.source.Instructors(ctx, rc.paging("instructors")); err != nil {
		return fmt.Errorf("fetch instructors: %w", err)
	}
	if s.admins, err = rc.source.Administrators(ctx, rc.paging("administrators")); err != nil {
		return fmt.Errorf("fetch administrators: %w", err)
	}
	return nil
}

func personName(first, last string) string {
	return strings.TrimSpace(strings.TrimSpace(first) + " " + strings.TrimSpace(last))
}

func (s *instructorsStage) plan(ctx context.Context, tx pgx.Tx, rc *runContext) (*stagePlan, error) {
	existing, err := rc.load(ctx, tx, instructorsTable)
	if err != nil {
		return nil, err
	}
	tut, err := s.read(ctx, tx, `
		SELECT i.id, i.is_active, s.id IS NOT NULL, coalesce(u.first_name, ''), coalesce(u.last_name, ''), coalesce(u.username, '')
		FROM acted.tutorial_instructors i
		LEFT JOIN acted.staff s ON s.id = i.staff_id
		LEFT JOIN public.auth_user u ON u.id = s.user_id`,
		func(r pgx.Rows, t *tutorialRow) error {
			var hasStaff bool
			var first, last, user string
			err := r.Scan(&t.id, &t.active, &hasStaff, &first, &last, &user)
			t.label = personName(first, last)
			switch {
			case !hasStaff:
				t.label = fmt.Sprintf("Instructor #%d", t.id)
				t.note = "has no staff record"
			case t.label == "":
				t.label = user
				t.note = "its user has no first and last name"
			default:
				t.key = compositeKey(matchKey(first), matchKey(last))
				if t.key == "" {
					t.note = "its user lacks a first or last name"
				}
			}
			t.extra = map[string]string{"first": first, "last": last}
			return err
		})
	if err != nil {
		return nil, err
	}
	sp := &stagePlan{fetched: len(s.instructors), fetchedNote: fmt.Sprintf("and %d administrators", len(s.admins))}
	in := rc.diffInput()
	keep := uniqueByID(in.seen, s.instructors, contactID)
	var adm []item
	for _, c := range keep {
		it := item{ID: c.ID, Label: personName(c.FirstName, c.LastName), Key: compositeKey(matchKey(c.FirstName), matchKey(c.LastName))}
		if it.Key == "" {
			it.Note = "the contact lacks a first or last name"
		}
		if it.Label == "" {
			it.Label = c.ID
		}
		adm = append(adm, it)
	}
	m := matchTutorial(tut, adm)
	for _, c := range keep {
		in.desired = append(in.desired, row{key: []string{c.ID}, label: personName(c.FirstName, c.LastName),
			vals: []*string{strOrNil(c.LegacyID), strOrNil(c.FirstName), strOrNil(c.LastName), boolText(true), linkOf(&m, c.ID)}})
	}
	sp.link(&m, diff(instructorsTable, existing, in))

	// Administrators: a plain mirror with its own disappearance guard.
	admExisting, err := rc.load(ctx, tx, administratorsTable)
	if err != nil {
		return nil, err
	}
	ain := rc.diffInput()
	for _, c := range uniqueByID(ain.seen, s.admins, contactID) {
		ain.desired = append(ain.desired, row{key: []string{c.ID}, label: personName(c.FirstName, c.LastName),
			vals: []*string{str(c.FirstName), str(c.LastName)}})
	}
	sp.tables = append(sp.tables, diff(administratorsTable, admExisting, ain))
	return sp, nil
}

// create makes each tutorial instructor a contact in Administrate (FR-003). A
// contact of the same name is reused, never created twice. Administrate's API
// offers no way to mark a contact as instructor, and only instructors come
// back in the list this stage mirrors, so a contact the tenant did not mark is
// not linked: the report names it and says to tick Instructor on it, after
// which the next run links it by name.
func (s *instructorsStage) create(ctx context.Context, _ pgx.Tx, rc *runContext, items []item) (*creation, error) {
	cr := &creation{}
	ok, why := rc.supports(ctx, OpCreateContact)
	for _, it := range items {
		t := s.tut[it.ID]
		first, last := strings.TrimSpace(t.extra["first"]), strings.TrimSpace(t.extra["last"])
		name := personName(first, last)
		if name == "" {
			name = it.Label
		}
		if !ok || first == "" || last == "" {
			reason := why
			if ok {
				reason = "the tutorial instructor has no first and last name"
			}
			cr.byHand(it, "%s; create contact %q in Administrate with Instructor ticked, then run `syncer run instructors`", reason, name)
			continue
		}
		found, err := rc.creator.ContactsNamed(ctx, first, last)
		if err != nil {
			cr.failed("look up contact %q in Administrate: %v", name, err)
			continue
		}
		var c Contact
		instructor, verb := false, "exists"
		switch len(found) {
		case 0:
			if c, instructor, err = rc.creator.CreateContact(ctx, first, last); err != nil {
				cr.failed("create contact %q in Administrate: %v", name, err)
				continue
			}
			verb = "created"
		case 1:
			c = found[0]
		default:
			cr.byHand(it, "Administrate has %d contacts named %q: tick Instructor on the right one, then run `syncer run instructors`", len(found), name)
			continue
		}
		if !instructor {
			cr.byHand(it, "contact %q %s in Administrate (id %s), but its API cannot mark a contact as instructor: tick Instructor "+
				"on that contact in Administrate, then run `syncer run instructors` (it links by name)", name, verb, c.ID)
			continue
		}
		cr.linked(row{key: []string{c.ID}, label: name,
			vals: []*string{strOrNil(c.LegacyID), strOrNil(c.FirstName), strOrNil(c.LastName), boolText(true), str(it.ID)}},
			fmt.Sprintf("instructor %q (tutorial #%s)", name, it.ID))
	}
	return cr, nil
}

func contactID(c Contact) string { return c.ID }
