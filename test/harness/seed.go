package harness

import (
	"context"
	"fmt"
	"strings"

	"admsync/pkg/admsim"
	"admsync/pkg/sampledata"
)

// Discrepancies are the records seeded on one side only, so the sync report
// has something to show.
type Discrepancies struct {
	AdministrateOnly []string // "location Cardiff", ...
	TutorialOnly     []string
}

// SeedSimulator fills the simulated tenant with the Administrate twin of
// ref: custom fields, price levels, locations, venues, instructor and
// administrator contacts, course templates with session counts, approved
// instructors and prices.
func SeedSimulator(sim *admsim.Server, ref *sampledata.ReferenceData) error {
	for _, cf := range ref.CustomFields {
		if _, err := sim.AddCustomField(cf.EntityType, admsim.CustomFieldSeed{Label: cf.Label, Type: cf.Type}); err != nil {
			return fmt.Errorf("custom field %s/%s: %w", cf.EntityType, cf.Label, err)
		}
	}
	// Administrate has definitions for other entity types too; the sync
	// mirrors them all.
	for _, et := range []string{"Learner", "Contact", "CourseTemplate", "Account"} {
		if _, err := sim.AddCustomField(et, admsim.CustomFieldSeed{Label: "Notes", Type: "text"}); err != nil {
			return err
		}
	}
	normal, err := sim.AddPriceLevel(admsim.PriceLevelSeed{Name: "Normal"})
	if err != nil {
		return err
	}
	student, err := sim.AddPriceLevel(admsim.PriceLevelSeed{Name: "Student"})
	if err != nil {
		return err
	}
	locIDs := map[string]string{}
	for _, l := range ref.Locations {
		id, err := sim.AddLocation(admsim.LocationSeed{Name: l.Name})
		if err != nil {
			return fmt.Errorf("location %s: %w", l.Name, err)
		}
		locIDs[l.Name] = id
	}
	for _, v := range ref.Venues {
		if _, err := sim.AddVenue(admsim.VenueSeed{Name: v.Name, Location: locIDs[v.Location]}); err != nil {
			return fmt.Errorf("venue %s at %s: %w", v.Name, v.Location, err)
		}
	}
	people := map[string]string{}
	for _, p := range ref.Instructors {
		id, err := sim.AddContact(admsim.ContactSeed{FirstName: p.FirstName, LastName: p.LastName, Instructor: true})
		if err != nil {
			return err
		}
		people[strings.ToLower(p.FullName())] = id
	}
	for _, p := range ref.Administrators {
		if _, err := sim.AddContact(admsim.ContactSeed{FirstName: p.FirstName, LastName: p.LastName, Admin: true}); err != nil {
			return err
		}
	}
	for _, ct := range ref.CourseTemplates {
		var approved []string
		for _, name := range ct.Approved {
			if id, ok := people[strings.ToLower(name)]; ok {
				approved = append(approved, id)
			}
		}
		sessions := ct.Sessions
		if sessions < 1 {
			sessions = 1
		}
		if _, err := sim.AddCourseTemplate(admsim.CourseTemplateSeed{
			Code: ct.Code, Title: ct.Title, LearningMode: strings.ToLower(modeOf(ct.LearningMode)),
			SessionCount: sessions, ApprovedInstructors: approved,
			Prices: []admsim.PriceSeed{{PriceLevel: normal, Amount: "450.00"}, {PriceLevel: student, Amount: "360.00"}},
		}); err != nil {
			return fmt.Errorf("course template %s: %w", ct.Code, err)
		}
	}
	return nil
}

func modeOf(m string) string {
	switch strings.ToUpper(m) {
	case "LMS", "SELF PACED (LMS)":
		return "lms"
	case "CLASSROOM":
		return "classroom"
	default:
		return "blended"
	}
}

// AddDiscrepancies seeds a few records on one side only: the first sync
// then reports them, and nothing in the workbook depends on them.
func (s *Stack) AddDiscrepancies(ctx context.Context) (*Discrepancies, error) {
	d := &Discrepancies{}
	if _, err := s.Sim.AddLocation(admsim.LocationSeed{Name: "Cardiff"}); err != nil {
		return nil, err
	}
	d.AdministrateOnly = append(d.AdministrateOnly, "location Cardiff")
	if _, err := s.Sim.AddCourseTemplate(admsim.CourseTemplateSeed{Code: "ZZ9_LO_1", Title: "Retired course", LearningMode: "blended", SessionCount: 1}); err != nil {
		return nil, err
	}
	d.AdministrateOnly = append(d.AdministrateOnly, "course template ZZ9_LO_1")
	if _, err := s.Sim.AddContact(admsim.ContactSeed{FirstName: "Pat", LastName: "Visiting", Instructor: true}); err != nil {
		return nil, err
	}
	d.AdministrateOnly = append(d.AdministrateOnly, "instructor Pat Visiting")
	if _, err := s.Pool.Exec(ctx, `INSERT INTO acted.tutorial_locations (name) VALUES ('Aberdeen')`); err != nil {
		return nil, err
	}
	d.TutorialOnly = append(d.TutorialOnly, "location Aberdeen")
	if _, err := s.Pool.Exec(ctx, `INSERT INTO acted.tutorial_course_templates (code, title) VALUES ('SA9_LO_2', 'New course not yet in Administrate')`); err != nil {
		return nil, err
	}
	d.TutorialOnly = append(d.TutorialOnly, "course template SA9_LO_2")
	return d, nil
}

// SeedTutorial inserts the tutorial side of ref.
func (s *Stack) SeedTutorial(ctx context.Context, ref *sampledata.ReferenceData) error {
	_, err := sampledata.SeedTutorial(ctx, s.Pool, ref)
	return err
}
