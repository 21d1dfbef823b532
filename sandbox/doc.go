// Package sandbox serves faithful simulators of every vendor API erpsync
// talks to — 聚水潭 Jushuitan, 旺店通 WDT (openapi2 and 奇门 Qimen), 销帮帮 XBB,
// 金蝶云星空 K3Cloud and 金蝶KIS — on one listener at their real paths, with
// fault injection and introspection for tests.
//
// `erpsync sandbox` runs it from the command line; tests, the demo and the
// benchmarks start one in-process with Start:
//
//	sb, err := sandbox.Start(sandbox.DefaultOptions()) // a free port on 127.0.0.1
//	defer sb.Close()
//	url := sb.URL()
//
// Besides the vendor paths it answers:
//
//	GET  /_sandbox/faults             the faults in force
//	POST /_sandbox/faults             change faults: a JSON object with any of error_rate,
//	                                  timeout_rate, token_ttl, session_ttl, mutate_rate,
//	                                  row_fail_rate, answers, interfaces
//	GET  /_sandbox/stats              answers by vendor, interface and code; answer faults
//	                                  applied; documents per target and dataset
//	GET  /_sandbox/source/{dataset}   the source truth, mutations included
//	GET  /_sandbox/k3cloud/{FormId}   what was written to a K3Cloud form
//	GET  /_sandbox/kis/bills          what was written to KIS
//	POST /_sandbox/reset              back to the initial state
//	POST /_sandbox/expire_tokens      the access tokens (and KIS sessions) in force expire now
//	                                  (Jushuitan, KIS): the next call must renew them
//
// # Faults
//
// The body of GET and POST /_sandbox/faults is core.Faults:
//
//	{
//	  "error_rate": 0, "timeout_rate": 0, "token_ttl": "0s", "session_ttl": "0s",
//	  "mutate_rate": 0, "row_fail_rate": 0,
//	  "answers": {"order": "", "modified_after_create": 0, "null_rate": 0,
//	              "total_drift_rate": 0, "duplicate_rate": 0, "short_page_rate": 0},
//	  "interfaces": {"jushuitan_skusn": {"order": "desc", ...}}
//	}
//
// A POST changes only what it names: fields absent keep their value, also
// inside "answers" and inside an "interfaces" entry that already exists. A
// new "interfaces" entry starts from zero (not from "answers"); an entry
// given as null is removed; "interfaces": null removes them all. Unknown
// fields, rates outside 0..1, an unknown order and an "interfaces" key that
// is not a dataset name (DatasetNames: jushuitan_other_inout,
// jushuitan_skusn, jushuitan_saleout, jushuitan_aftersale_received,
// jushuitan_purchasein, jushuitan_purchaseout, jushuitan_orders,
// jushuitan_refunds, jushuitan_inventory, jushuitan_skus, wdt_shops, the WDT document datasets of wdt.DatasetNames, xbb.DatasetNames)
// answer HTTP 400 naming the
// problem, and nothing changes.
//
// "answers" applies to every list interface; an "interfaces" entry replaces
// it wholly for the interface serving that dataset. Its fields
// (core.AnswerFaults) make answers behave as real servers sometimes do;
// none of this is vendor-documented:
//
//	order                  "" or "asc" as documented; "desc" that order reversed;
//	                       "id_asc", "id_desc" by document id only; "random" a
//	                       permutation fixed by the seed and the query's parameters
//	                       except the page number (every page of one query agrees)
//	modified_after_create  share of documents served with a modified time 1-6 h after
//	                       their create time (never after the sandbox start), where
//	                       both exist and the window is on the create time
//	                       (jushuitan_skusn only); stable per document
//	null_rate              share of answers that succeed without a list (data null, or
//	                       the list null or missing while counts say there are documents)
//	total_drift_rate       share of pages whose reported total is off by 1-3 (never
//	                       negative); page counts and has_next follow it
//	duplicate_rate         share of pages after the first that start 1-3 rows early,
//	                       repeating the previous page's tail; totals stay true
//	short_page_rate        share of pages, not the last, lacking their last 1-3 rows
//	                       (one row always stays); totals and has_next promise more
//
// Rates are drawn per answer from the seeded fault dice, like error_rate;
// with every answer field zero the answers are exactly the documented ones
// and no dice are drawn. Each vendor package's doc says how a null answer
// looks there and what "asc" is per query mode.
//
// # Fidelity switches
//
// By default every simulator answers as its production servers are observed
// to (each vendor package's doc gives the facts and their sources). Stricter
// readings of the documentation, for tests of a client's own handling, are
// options of Options (and flags of `erpsync sandbox`):
//
//	K3Cloud.SignatureWindow  --k3-signature-window  refuse x-api-timestamp / LoginBySign
//	                                                timestamps further off (default 0: none,
//	                                                ±24 h were accepted in production)
//	K3Cloud.MaxRequestBytes  --k3-max-request-bytes refuse larger request bodies (default 4 MiB,
//	                                                the ASP.NET default; negative: no limit)
//	K3Cloud.RequestRefusal   --k3-request-refusal   how: aspnet (HTTP 500 page, default), iis
//	                                                (HTTP 404.13) or proxy (HTTP 413)
//	KIS.StrictHeaders        --kis-strict-headers   require Kis-Ver on every call and
//	                                                KIS-Signature on get_service_gateway
//	                                                (default: only Kis-Ver on business calls,
//	                                                as a production client sends)
//
// # Stats
//
// GET /_sandbox/stats answers StatsReply: "requests" (vendor -> interface ->
// calls), "answers" (vendor -> interface -> code -> count; an answer
// carrying an answer fault still counts under its success code), "faults"
// (vendor -> interface -> kind -> count, kind one of "null",
// "total_drift", "duplicate", "short_page"; one answer may count under
// several kinds), "targets" and "datasets" (documents per store).
//
// # Truth
//
// GET /_sandbox/source/{dataset} answers {"dataset", "documents": [...]},
// ordered by id, each {"id", "modified", "created" (jushuitan_skusn only:
// the immutable create time), "version", "served_version" (the highest
// version any vendor answer carried, 0 = never served), "document" (with
// ?full=1: the document as the vendor serves it now)}. A test of a
// create-time interface (jushuitan_skusn) cannot expect a flow's latest
// version when the flow changed after its window was read: served_version
// tells which version it can expect.
package sandbox
