package workflows

// Changes that alter the histories of running workflows. Each one is taken
// behind workflow.GetVersion under its change id, so an incident that an older
// release opened replays the path it took (workflow.DefaultVersion) and takes
// the new one from its next decision on; new incidents take the new one from
// the start. The replay test (replay_test.go) replays every released
// version's histories and fails on a change that is not behind a version.
//
// Keep a change's old branch until no incident older than it can be open:
// raise its minSupported only in a release whose notes say so.
const (
	// changeSyncOneActivity (v0.2.0): sync edits the root message and saves
	// the projection in one local activity (SyncIncident) instead of two.
	changeSyncOneActivity = "sync-one-activity"
)
