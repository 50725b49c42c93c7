// Package workflows holds Vigil's Temporal workflows: IncidentWorkflow (one per
// incident; posts the thread, ranks causes, proposes runbooks, waits for decisions)
// and RemediationWorkflow (a child that runs one approved runbook), with the pure
// approval policy they enforce. Their signals, updates, requests and client are
// in workflows/contract. Code here is deterministic: time comes from
// workflow.Now, nothing iterates a map, and all I/O happens in activities.
package workflows
