package harness

import (
	"context"

	"admsync/pkg/admsim"
	"admsync/pkg/sampledata"
)

// Discrepancies are the records seeded on one side only, so the sync report
// has something to show.
type Discrepancies struct {
	AdministrateOnly []string // "location Cardiff", ...
	TutorialOnly     []string
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
