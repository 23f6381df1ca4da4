package admsimtest

import (
	"fmt"
	"strings"

	"admsync/pkg/admsim"
	"admsync/pkg/sampledata"
)

// SeedReference fills the simulated tenant with the Administrate twin of
// ref: its custom fields (and a "Notes" field on the other entity types,
// which the sync mirrors too), one active currency (GBP, the financial unit
// a real tenant always has, which admwriter events prices add needs), Normal
// and Student price levels, locations, venues, instructor and administrator
// contacts, and course templates with session counts, approved instructors
// and prices.
//
// Records take the ids sampledata.SeedBridges gives their bridges
// (ExternalID("Location", n), …), so a test may seed the bridges directly
// instead of running the sync; a sync matches them by name either way.
// It needs no *testing.T: the demo seeds its simulator with it too.
func SeedReference(sim *admsim.Server, ref *sampledata.ReferenceData) error {
	id := sampledata.ExternalID
	for i, cf := range ref.CustomFields {
		if _, err := sim.AddCustomField(cf.EntityType, admsim.CustomFieldSeed{ID: id("CustomFieldDefinition", i+1), Label: cf.Label, Type: cf.Type}); err != nil {
			return fmt.Errorf("custom field %s/%s: %w", cf.EntityType, cf.Label, err)
		}
	}
	for _, et := range []string{"Learner", "Contact", "CourseTemplate", "Account"} {
		if _, err := sim.AddCustomField(et, admsim.CustomFieldSeed{Label: "Notes", Type: "text"}); err != nil {
			return fmt.Errorf("custom field %s/Notes: %w", et, err)
		}
	}
	if _, err := sim.AddCurrency(admsim.CurrencySeed{Code: "GBP", Name: "Pound sterling"}); err != nil {
		return fmt.Errorf("currency GBP: %w", err)
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
	for i, l := range ref.Locations {
		locIDs[l.Name] = id("Location", i+1)
		if _, err := sim.AddLocation(admsim.LocationSeed{ID: locIDs[l.Name], Name: l.Name}); err != nil {
			return fmt.Errorf("location %s: %w", l.Name, err)
		}
	}
	for i, v := range ref.Venues {
		if _, err := sim.AddVenue(admsim.VenueSeed{ID: id("Venue", i+1), Name: v.Name, Location: locIDs[v.Location]}); err != nil {
			return fmt.Errorf("venue %s at %s: %w", v.Name, v.Location, err)
		}
	}
	people := map[string]string{}
	for i, p := range ref.Instructors {
		people[strings.ToLower(p.FullName())] = id("Contact", i+1)
		if _, err := sim.AddContact(admsim.ContactSeed{ID: id("Contact", i+1), FirstName: p.FirstName, LastName: p.LastName, Instructor: true}); err != nil {
			return fmt.Errorf("instructor %s: %w", p.FullName(), err)
		}
	}
	for i, p := range ref.Administrators {
		if _, err := sim.AddContact(admsim.ContactSeed{ID: id("Contact", 1000+i+1), FirstName: p.FirstName, LastName: p.LastName, Admin: true}); err != nil {
			return fmt.Errorf("administrator %s: %w", p.FullName(), err)
		}
	}
	for i, ct := range ref.CourseTemplates {
		var approved []string
		for _, name := range ct.Approved {
			if cid, ok := people[strings.ToLower(name)]; ok {
				approved = append(approved, cid)
			}
		}
		if _, err := sim.AddCourseTemplate(admsim.CourseTemplateSeed{
			ID: id("CourseTemplate", i+1), Code: ct.Code, Title: ct.Title, LearningMode: learningMode(ct.LearningMode),
			SessionCount: max(ct.Sessions, 1), ApprovedInstructors: approved,
			Prices: []admsim.PriceSeed{{PriceLevel: normal, Amount: "450.00"}, {PriceLevel: student, Amount: "360.00"}},
		}); err != nil {
			return fmt.Errorf("course template %s: %w", ct.Code, err)
		}
	}
	return nil
}

// learningMode is the simulator's name for a reference learning mode.
func learningMode(m string) string {
	switch strings.ToUpper(m) {
	case sampledata.LMS, "SELF PACED (LMS)":
		return "lms"
	case sampledata.Classroom:
		return "classroom"
	default:
		return "blended"
	}
}
