// Package poll is the engine every polling vendor input (jushuitan, wdt,
// xbb) is built on. It plans time windows over one of a vendor's time
// filters (or full reads of master data), pages through each window by the
// vendor's convention, emits one message per document and one batch per
// page, and stores a checkpoint — the end of the last window whose every
// message was acknowledged, in order — in a cache resource, only after the
// acknowledgements. A restart resumes from checkpoint - lookback.
//
// # The window's filter field
//
// A window is a range of one document field: the field the request's
// bounds filter on (window.filter_field; modified for most interfaces,
// create_time for Jushuitan unique-code flows, io_date for other in/out
// bills read with date_type 2). Clients report its value per document as
// vendor.Document.Filter, apart from the document's modified time
// (Document.Modified, metadata source_modified), which the engine never
// pages on: the two differ, by hours, on real data.
//
// # Reading a window: the engine trusts no order it has not verified
//
// The rule the engine follows, whatever order the vendor answers in:
//
//  1. Keyset jumps, only when an answer proves them safe. The first
//     request of a window asks for page 0 of [start, end]. When that page
//     is full, every document on it has a filter value inside the
//     requested range, the page is sorted ascending by that value, and the
//     vendor counts (a total), the next request asks for page 0 of the
//     window narrowed to start at the page's newest filter value — a
//     "jump" — or one second after it when no other row of the page
//     shares that second, so no row is served twice. Narrowing never skips
//     a document that moved while the window was read, where numbered
//     pages over a list that changes do.
//  2. Every jump is verified: the next query's total must be exactly the
//     previous total minus the documents of the page below the jump point
//     (a row of the skipped second beyond the page makes it fall short).
//     Otherwise documents left the window meanwhile, or the vendor was not
//     sorted after all; only a read of the skipped range can tell, so that
//     range is read again as a span of its own (rule 3).
//  3. Everything else is read in numbered passes: pages 0, 1, 2, ... of one
//     query. A pass is trusted only when every page reports the same
//     total, no document comes twice, and the pages add up to the total.
//     A page that breaks one of these is asked for again first (a glitch
//     rarely repeats); if it persists, the pass is read again, and a span
//     whose passes keep failing is halved (down to one second). A span
//     that cannot be read consistently after several passes is reported as
//     a transient error: the checkpoint stays, and the read starts over.
//  4. The first answer that is not sorted ascending by the filter field,
//     holds a document without it, or holds one outside the requested
//     range turns keyset jumps off for the rest of the process (logged
//     once, with the reason): the vendor does not answer the way a jump
//     assumes, or window.filter_field names the wrong field.
//  5. End of a list. With a total, the vendor's own signals end a pass
//     (clients take has_next and the page counts so that a disagreement
//     reads one more page rather than one fewer), a full last page is
//     confirmed by the next page being empty, and the rows must add up to
//     the total. Without a total but with has_next (Options.HasNext), a
//     short page holding documents that has_next also calls the last ends
//     the pass; a short page that promises more is asked for again (a page
//     cut short still promises the rest), then has_next is believed.
//     Without either (bare-array interfaces), only a page shorter than the
//     page size ends a pass, and only after the same request answered the
//     same twice more (once more when passes are repeated anyway, rule 6;
//     see rule 7 for the cheaper way on a rising filter): a null list or a
//     page cut short mid-read looks exactly like the end otherwise. An
//     empty answer is always confirmed so.
//  6. Without a total, numbered pages skip a document when one already
//     read leaves the window (it changed and its filter value moved past
//     the window's end); that document is then missing from the next pass.
//     So a span is read when two passes in a row hold the same documents —
//     unless the filter field never changes once a document exists (a
//     create time: Options.StableFilter), or the pass is one answer
//     holding documents (nothing shifts inside one answer), where one pass
//     is enough.
//  7. On a rising filter (Options.RisingFilter: a stable field, or the
//     documents' modified time, which only moves forward), a page that
//     holds documents and is the last of its window ends the window at
//     once when the pass so far is sorted ascending by the filter inside
//     the window: a short page without a count (one pass of several pages
//     without a count still needs rule 6), or a full page a count or
//     has_next calls the last (a total that came out low says so too). A
//     page cut short, or a count too low, loses rows only from the page's
//     newest filter value on, and a row's value never moves back: the next
//     window starts at that value instead of the window's end (both ends
//     are inclusive), and the window's checkpoint stops there, so a
//     restart reads it again too. The tail is confirmed when a later
//     window reads past it. A run that stops when caught up asks for the
//     last tail once more before it stops when its page held at least half
//     a page (a page cut short still does), and is done when that answer
//     finds nothing after it (two answers agreeing); a tail of a page less
//     than half full is far likelier the end, and is left to the next run,
//     whose checkpoint starts there. Empty or null pages, and answers in
//     any other order, keep rule 5.
//
// Where a vendor's documentation is silent about its answers (sort order,
// whether an empty list is [] or null, whether totals hold still), these
// rules choose the reading that cannot lose documents; the cost is extra
// requests, counted in erpsync_window_rereads_total and in the requests
// metric. Clients check each answer against what the interface promises
// (a null list where a page object is documented is a transient error, not
// an empty page); the engine checks pages against each other.
//
// Documents read again unchanged (jump boundaries, re-read passes,
// lookback) are not emitted again: the engine remembers a hash of each
// document emitted in the current window and its overlap.
//
// # Errors
//
// Vendor clients provide a Fetcher; errors are classified with
// internal/vendor.Kind: transient and rate-limited calls are retried with
// backoff (a rate-limit answer pauses every stream sharing the rate_limit
// resource), expired credentials are refreshed by the client, permanent
// errors stop the input with the vendor's code and message. A checkpoint
// that cannot be stored stops the input too, before it reads further:
// running on would re-read everything delivered since after the next
// restart. Either stops the process (internal/fatal): exit code 1, the
// error printed.
package poll
