// Package deadletter keeps the documents a stream could not write in a
// MySQL / MariaDB table (and a JSON-lines file per stream), and replays them:
//
//   - output `dead_letter` (output_dead_letter.go), the last tier of a
//     `fallback` output: one row per (stream, source_id) with the source
//     document, the target's error and code, and the failure count;
//   - input `dead_letters` (input_dead_letters.go): the open rows of one
//     stream, as the source documents they hold, with the source metadata
//     restored, for a replay config that runs them through the same mapping
//     and output;
//   - output `dead_letter_resolve` (output_dead_letter_resolve.go): marks a
//     row resolved once the target confirmed its document;
//   - output `dead_letter_file` (output_dead_letter_file.go): the file
//     <directory>/<stream>.jsonl, one line per distinct failure of a
//     document (an identical repeat of its last line is not written).
//
// The table (default erpsync_dead_letters, created when missing; see Schema):
//
//	id                BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, replay order
//	stream            the stream (config) the document belongs to
//	source_id         the source document's id; UNIQUE (stream, source_id)
//	source_vendor     where it came from (jushuitan, wdt, xbb, ...)
//	target            the target that refused it (kis, k3cloud:<FormId>, mysql:<table>)
//	error_code        the vendor's code, "" when the error has none
//	error_message     the full error: vendor, interface, code, message
//	payload           the SOURCE document, the input of the mapping
//	target_payload    what the target refused, when it differs (else NULL)
//	source_meta       the source message's metadata (JSON object), restored on replay
//	status            open | resolved
//	attempts          failures so far
//	first_failure_at  first failure (UTC); kept by later failures
//	last_failure_at   latest failure (UTC)
//	resolved_at       when the target last confirmed it (UTC); NULL if never
//
// A later failure of the same document increments attempts, refreshes the
// error, payloads, metadata and last_failure_at and opens a resolved row
// again; it keeps id, first_failure_at and resolved_at, so an open row with
// a resolved_at is a document that failed again after it had been resolved.
//
// The stream stashes its source document before mapping
// (`meta erpsync_source = content().string()`, MetaSource) so that the
// dead letter holds the document the mapping can run on again. The user
// documentation, with the config pattern and SQL to inspect the table, is
// docs/dead-letters.md.
//
// client.go speaks SQL only (through plugins/mysql's connection pool, retry
// and error classification) and knows nothing of Benthos.
package deadletter
