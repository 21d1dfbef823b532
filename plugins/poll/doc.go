// Package poll is the engine every polling vendor input (jushuitan, wdt,
// xbb) is built on. It plans time windows over a vendor's modified-time
// filter (or full reads of master data), pages through each window by the
// vendor's convention, emits one message per document and one batch per
// page, and stores a checkpoint — the end of the last window whose every
// message was acknowledged, in order — in a cache resource, only after the
// acknowledgements. A restart resumes from checkpoint - lookback.
//
// Paging inside a window is keyset paging on the documents' modified time:
// after a full page, the next request asks for page 0 of the window narrowed
// to start at the newest modified time seen. Vendors re-sort lists as rows
// change, so numbered pages over a moving list skip rows; narrowing the
// window never does. When a whole page shares one modified time the engine
// falls back to the next page number of the narrowed window.
//
// Vendor clients provide a Fetcher; errors are classified with
// internal/vendor.Kind: transient and rate-limited calls are retried with
// backoff (a rate-limit answer pauses every stream sharing the rate_limit
// resource), expired credentials are refreshed by the client, permanent
// errors stop the input with the vendor's code and message.
package poll
