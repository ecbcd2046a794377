package oktatest

// Ids of the fixture org in ../shared/fixtures/okta/README.md.
const (
	AdminID    = "00u11bGju0S48v4cQ5d7"
	AliceID    = "00uq2bQsGEKuDyxue5d7"
	BobID      = "00uaYtXZpfwTv6JxN5d7"
	CarolID    = "00u9sDa0whxJ5GtFS5d7"
	DaveID     = "00uRjPeukKKQ9vu1W5d7"
	OncallID   = "00g9I8I2YXF3R9IKb5d7"
	PlatformID = "00gQtX8kNb9Q26jxr5d7"
	AWSID      = "0oauAvkhqZlFVNOUV5d7"
	SlackID    = "0oa0X4Cu5cOdbijP45d7"
)

// Fixture users, groups and apps, as the fixture README describes them.
var (
	Alice    = User{ID: AliceID, Status: "ACTIVE", Login: "alice.nguyen@example.com", FirstName: "Alice", LastName: "Nguyen", DisplayName: "Alice Nguyen"}
	Bob      = User{ID: BobID, Status: "ACTIVE", Login: "bob.okafor@example.com", FirstName: "Bob", LastName: "Okafor"}
	Carol    = User{ID: CarolID, Status: "DEPROVISIONED", Login: "carol.diaz@example.com", FirstName: "Carol", LastName: "Diaz", DisplayName: "Carol Diaz"}
	Dave     = User{ID: DaveID, Status: "ACTIVE", Login: "dave.kim@example.com", FirstName: "Dave", LastName: "Kim", DisplayName: "Dave Kim"}
	Oncall   = Group{ID: OncallID, Name: "oncall-engineers", Description: "Engineers on the pager rota"}
	Platform = Group{ID: PlatformID, Name: "platform-team", Description: "Platform engineering"}
	AWS      = App{ID: AWSID, Name: "amazon_aws", Label: "AWS"}
	Slack    = App{ID: SlackID, Name: "slack", Label: "Slack"}
)

// SeedFixtureOrg loads the fixture org in the state batch.json ends in,
// plus the rest of the cast: alice, bob and dave ACTIVE, carol
// DEPROVISIONED (Bob has no displayName, so clients must fall back to
// first + last); oncall-engineers = {alice, carol}, platform-team = {bob,
// dave}; AWS assigned to oncall-engineers, Slack to platform-team; dave
// directly assigned to Slack.
func (s *Server) SeedFixtureOrg() {
	for _, u := range []User{Alice, Bob, Carol, Dave} {
		s.AddUser(u)
	}
	s.AddGroup(Oncall)
	s.AddGroup(Platform)
	s.AddApp(AWS)
	s.AddApp(Slack)
	s.AddMember(OncallID, AliceID)
	s.AddMember(OncallID, CarolID)
	s.AddMember(PlatformID, BobID)
	s.AddMember(PlatformID, DaveID)
	s.AssignGroup(AWSID, OncallID)
	s.AssignGroup(SlackID, PlatformID)
	s.AssignUser(SlackID, DaveID)
}
