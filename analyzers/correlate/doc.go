// Package correlate turns a stream of signals into the few incidents that
// matter. It has two halves.
//
// The first reproduces what Alertmanager users already know, so their routing
// habits carry over unchanged:
//
//   - Grouper: group_by, group_wait, group_interval and repeat_interval as a
//     deterministic state machine. Alerts go in with their arrival times;
//     flushes of groups come out with the times they are due.
//   - Inhibitor: inhibit rules (source_matchers, target_matchers, equal) with
//     Alertmanager's semantics, including its edge cases.
//   - Silences: matchers, a start and an end, an author and a comment.
//
// The second correlates across sources:
//
//   - Graph: the service dependency graph from configuration (caller → callee).
//   - Learner: a graph learned from which services alert together, with decay
//     and documented support, confidence and lift thresholds.
//   - Correlator: whether a new signal (alert, metric or log anomaly, change)
//     joins an open incident because it falls in the incident's time window and
//     is connected to one of its services through either graph, and which open
//     incidents turn out to be one and should merge.
//
// Everything here is pure and deterministic: no I/O, no clocks (every time is
// an argument), no randomness, and no result depends on map iteration order.
// Types are not safe for concurrent use; callers serialise access.
//
// Matchers are taken through the Matcher interface so this package imports
// nothing of Vigil's; runbooks.Matcher (Alertmanager's =, !=, =~, !~ with
// anchored regular expressions) satisfies it.
package correlate
