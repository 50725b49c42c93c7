// Package routing decides what becomes of each alert and signal ingest takes
// in: whether it is a duplicate, whether a silence or an inhibition holds it,
// and which incident it joins or opens; and, after a batch, which open
// incidents it made one.
//
// The decisions are pure and deterministic: stages read what is stored
// through a View and write what they decide into a Plan, and nothing here does
// I/O of its own. The store runs a batch in one write transaction that holds
// the routing lock: its View reads that transaction, and it applies the Plan
// in the same transaction, so every decision is made against one consistent
// view of the open incidents and applied with it, or not at all.
//
// A batch of alerts goes through
//
//	Dedup → Own → Mute → Group → Correlate → Open
//
// and a batch of signals (anomalies, changes, predictions) through
//
//	Dedup → Service → Correlate → MayOpen → Group → Open
//
// each stage deciding or passing the item to the next. A View shows what was
// stored before the batch; what the batch itself has decided so far (the
// incidents it opened, the groups it linked, the signals it stores) is kept
// in the Batch, so a later item of the same batch routes as if the earlier
// ones were stored already.
package routing
