// Package xbb is the protocol client of the 销帮帮 (XiaoBangBang, XBB) CRM
// open API "pro v2", as described in /work/shared/docs/vendors/xbb.md.
//
// It knows the wire protocol only: the signed JSON POST envelope (corpid and
// the optional userId inside the body, header sign = lowercase hex of
// sha256(body || token)), the response envelope {"code","success","msg",
// "result"}, the paging convention of the list interfaces (page from 1,
// result.list / totalCount / totalPage), how a list item becomes a
// vendor.Document (ID = dataId, Modified = updateTime) and how failures are
// classified into vendor.Error kinds.
//
// The package deliberately does not import Benthos: the shared poll engine
// (plugins/poll) drives Client.FetchPage over time windows and pages, and
// the Benthos input glue (input_xbb.go, written separately) wires the two
// together. Keeping the protocol apart lets it be tested over plain HTTP
// against the sandbox simulator in sandbox/xbb.
//
// # What an answer promises, and what the client does when it breaks it
//
//   - Incremental reads put the window into conditions on updateTime [C
//     contract 5.1]; Document.Filter is read from updateTime unless the input
//     names another window.filter_field (addTime, or a key under data).
//   - A list call answers result.list with totalCount/totalPage [C]: a null
//     result, or a null list while totalCount counts rows for the page, is
//     an inconsistent answer (transient, asked again), never an empty page.
//   - totalPage and ceil(totalCount/pageSize) are both honoured: when they
//     disagree, one more page is read [I; cannot lose documents]. Size is
//     result.pageSize when the server reports it.
//   - XBB re-sorts lists as records change [C XBBEXE]; the engine checks
//     totals between pages and verifies any keyset jump (plugins/poll).
package xbb
