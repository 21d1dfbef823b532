package kingdee

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redpanda-data/benthos/v4/public/bloblang"
	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/internal/fatal"
	"github.com/erpsync/erpsync/internal/opsmetrics"
	"github.com/erpsync/erpsync/internal/vendor"
)

const (
	kqFieldFieldKeys = "field_keys"
	kqFieldFilter    = "filter"
	kqFieldResultMap = "result_map"
	kqFieldCache     = "cache"
	kqFieldTTL       = "ttl"

	// queryAttempts bounds the tries of one lookup on transient failures;
	// reads are safe to repeat.
	queryAttempts = 3
)

func queryProcessorSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Categories("Integration").
		Summary("Looks values up in 金蝶云星空 Kingdee K3Cloud with ExecuteBillQuery (e.g. the material number of a SKU) and maps the rows onto the message, with an optional cache.").
		Description(`
For each message the `+"`filter`"+` is interpolated and one `+"`ExecuteBillQuery`"+` runs on `+"`form_id`"+` with `+"`field_keys`"+`,
returning at most 2000 rows. Then `+"`result_map`"+` runs like the `+"`result_map`"+` of a `+"`branch`"+`: `+"`root`"+` is the message
(content and metadata, assignments change it) and `+"`this`"+` is the query result:

`+"```json"+`
{"rows": [[100231, "SKU00001"]], "objects": [{"FMATERIALID": 100231, "FNumber": "SKU00001"}], "count": 1, "filter": "FNumber = 'SKU00001'"}
`+"```"+`

`+"`rows`"+` holds the values in `+"`field_keys`"+` order, `+"`objects`"+` the same rows keyed by field key. Metadata of the message
is readable as `+"`@name`"+`.

== Escaping

The filter is SQL-like. Quote values taken from data and double their single quotes, e.g.
`+"`FNumber = '${! this.sku.replace_all(\"'\", \"''\") }'`"+`.

== No rows, errors

No rows is not an error: `+"`result_map`"+` runs with `+"`rows: []`"+` and `+"`count: 0`"+`; a mapping that indexes an empty
array fails, so use `+"`.catch(...)`"+` or `+"`if this.count == 0 { ... }`"+` to decide. A failed query (after three tries
on transient failures; a lost session is re-authenticated once) or a failed mapping leaves the message
unchanged and flags it with the error, the usual Benthos processor error handling (`+"`catch`"+`, `+"`try`"+`,
`+"`switch`"+` on `+"`errored()`"+`, strict outputs reject it).

== Cache

With `+"`cache`"+` (a cache resource), the rows of a lookup are stored under
`+"`kingdee_query:<form_id>:<field_keys>:<filter>`"+` for `+"`ttl`"+`, so a mapping that looks up the same SKU for every row
queries Kingdee once per `+"`ttl`"+`. Empty results are cached too; failed ones are not. Within one batch
identical lookups are made once even without a cache.`).
		Fields(connectionFields()...).
		Fields(
			service.NewStringField(kdFieldFormID).Description("Business object (form) id to query, e.g. `BD_MATERIAL`.").Example("BD_MATERIAL"),
			service.NewStringListField(kqFieldFieldKeys).Description("FieldKeys, in the order of the row values; referenced values as `FMaterialId.FNumber`, entry ids as `FEntity_FEntryId`.").Example([]string{"FMATERIALID", "FNumber", "FName"}),
			service.NewInterpolatedStringField(kqFieldFilter).Description("FilterString, SQL-like (`=`, `<>`, `IN`, `AND`, `OR`, quoted strings), interpolated per message. Empty queries the whole form.").Default(""),
			service.NewBloblangField(kqFieldResultMap).Description("Mapping from the query result (`this`: rows, objects, count, filter) onto the message (`root`)."),
			service.NewStringField(kqFieldCache).Description("Name of a cache resource memoising lookups; empty disables caching.").Default(""),
			service.NewDurationField(kqFieldTTL).Description("How long a cached lookup is reused.").Default("10m"),
		).
		LintRule(authLintRule).
		Example("Material by SKU", "Finds the K3Cloud material of each order line's SKU, caching each SKU for ten minutes.", `
pipeline:
  processors:
    - kingdee_query:
        url: ${K3CLOUD_URL}
        auth:
          acct_id: ${K3CLOUD_ACCT_ID}
          username: ${K3CLOUD_USERNAME}
          app_id: ${K3CLOUD_APP_ID}
          app_secret: ${K3CLOUD_APP_SECRET}
        form_id: BD_MATERIAL
        field_keys: [FNumber, FName]
        filter: FNumber = '${! this.sku.replace_all("'", "''") }'
        result_map: |
          root.material = if this.count > 0 { this.rows.index(0).index(0) } else { deleted() }
          root.material_name = this.objects.index(0).FName.catch(null)
        cache: k3_lookups
        ttl: 10m

cache_resources:
  - label: k3_lookups
    memory:
      default_ttl: 10m
`)
}

func init() {
	service.MustRegisterBatchProcessor("kingdee_query", queryProcessorSpec(),
		func(conf *service.ParsedConfig, mgr *service.Resources) (service.BatchProcessor, error) {
			return newQueryFromParsed(conf, mgr)
		})
}

type queryProcessor struct {
	client    *Client
	form      string
	fieldKeys []string
	filter    *service.InterpolatedString
	resultMap *bloblang.Executor
	cache     string
	ttl       time.Duration
	mgr       *service.Resources
	pause     time.Duration
}

func newQueryFromParsed(conf *service.ParsedConfig, mgr *service.Resources) (*queryProcessor, error) {
	cfg, err := clientConfigFromParsed(conf)
	if err != nil {
		return nil, err
	}
	cfg.Observe = opsmetrics.Observer(mgr, vendorName)
	cfg.OnLogin = opsmetrics.Renewals(mgr, vendorName)
	p := &queryProcessor{mgr: mgr, pause: retryBase}
	if p.client, err = NewClient(cfg); err != nil {
		return nil, err
	}
	if p.form, err = conf.FieldString(kdFieldFormID); err != nil {
		return nil, err
	}
	if p.fieldKeys, err = conf.FieldStringList(kqFieldFieldKeys); err != nil {
		return nil, err
	}
	if len(p.fieldKeys) == 0 {
		return nil, errors.New("kingdee_query: field_keys must name at least one field")
	}
	for i, k := range p.fieldKeys {
		p.fieldKeys[i] = strings.TrimSpace(k)
	}
	if p.filter, err = conf.FieldInterpolatedString(kqFieldFilter); err != nil {
		return nil, err
	}
	if p.resultMap, err = conf.FieldBloblang(kqFieldResultMap); err != nil {
		return nil, err
	}
	if p.cache, err = conf.FieldString(kqFieldCache); err != nil {
		return nil, err
	}
	if p.cache != "" && !mgr.HasCache(p.cache) {
		return nil, fmt.Errorf("kingdee_query: cache resource %q is not defined", p.cache)
	}
	if p.ttl, err = conf.FieldDuration(kqFieldTTL); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *queryProcessor) ProcessBatch(ctx context.Context, batch service.MessageBatch) ([]service.MessageBatch, error) {
	local := map[string][][]any{} // identical lookups of this batch
	out := make(service.MessageBatch, 0, len(batch))
	for i, m := range batch {
		filter, err := batch.TryInterpolatedString(i, p.filter)
		if err != nil {
			m.SetError(fmt.Errorf("kingdee_query: filter: %w", err))
			out = append(out, m)
			continue
		}
		key := "kingdee_query:" + p.form + ":" + strings.Join(p.fieldKeys, ",") + ":" + filter
		rows, ok := local[key]
		if !ok {
			if rows, err = p.rows(ctx, key, filter); err != nil {
				m.SetError(err)
				out = append(out, m)
				continue
			}
			local[key] = rows
		}
		from := m.Copy()
		from.SetStructured(p.result(rows, filter))
		// Map onto a deep copy so a failing mapping leaves the message as it was.
		res, err := m.DeepCopy().BloblangMutateFrom(p.resultMap, from)
		if err != nil {
			m.SetError(fmt.Errorf("kingdee_query: result_map: %w", err))
			out = append(out, m)
			continue
		}
		if res != nil {
			out = append(out, res)
		}
	}
	return []service.MessageBatch{out}, nil
}

// result is what result_map sees as this.
func (p *queryProcessor) result(rows [][]any, filter string) map[string]any {
	rs := make([]any, len(rows))
	objs := make([]any, len(rows))
	for i, r := range rows {
		row := make([]any, len(r))
		obj := make(map[string]any, len(p.fieldKeys))
		for j, v := range r {
			row[j] = v
			if j < len(p.fieldKeys) {
				obj[p.fieldKeys[j]] = v
			}
		}
		rs[i], objs[i] = row, obj
	}
	return map[string]any{"rows": rs, "objects": objs, "count": len(rows), "filter": filter}
}

// rows answers a lookup from the cache or from K3Cloud.
func (p *queryProcessor) rows(ctx context.Context, key, filter string) ([][]any, error) {
	if p.cache != "" {
		var hit []byte
		var cerr error
		if err := p.mgr.AccessCache(ctx, p.cache, func(c service.Cache) { hit, cerr = c.Get(ctx, key) }); err == nil && cerr == nil {
			if rows, err := decodeRows(hit); err == nil {
				return rows, nil
			}
		}
	}
	var rows [][]any
	var err error
	for attempt := 0; attempt < queryAttempts; attempt++ {
		if attempt > 0 {
			if serr := sleepCtx(ctx, p.pause<<(attempt-1)); serr != nil {
				return nil, serr
			}
		}
		rows, err = p.client.ExecuteBillQuery(ctx, Query{FormID: p.form, FieldKeys: strings.Join(p.fieldKeys, ","), FilterString: filter, Limit: PageLimit})
		if err == nil || vendor.KindOf(err) == vendor.Permanent {
			break
		}
	}
	if err != nil {
		err = fmt.Errorf("kingdee_query: %s filter %q: %w", p.form, filter, err)
		if IsConfigAnswer(err) && ctx.Err() == nil {
			// Every lookup would fail the same: stop rather than fail
			// every document (internal/fatal).
			err = fmt.Errorf("%w: %s", err, probeHint(err))
			p.mgr.Logger().Errorf("%v; stopping", err)
			fatal.Stop(err)
		}
		return nil, err
	}
	if p.cache != "" {
		if b, merr := json.Marshal(rows); merr == nil {
			ttl := p.ttl
			var cerr error
			if aerr := p.mgr.AccessCache(ctx, p.cache, func(c service.Cache) { cerr = c.Set(ctx, key, b, &ttl) }); aerr != nil || cerr != nil {
				p.mgr.Logger().Warnf("kingdee_query: caching a lookup in %s failed: %v", p.cache, errors.Join(aerr, cerr))
			}
		}
	}
	return rows, nil
}

func decodeRows(b []byte) ([][]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var rows [][]any
	err := dec.Decode(&rows)
	return rows, err
}

func (p *queryProcessor) Close(context.Context) error {
	closeIdle(p.client.cfg.Transport)
	return nil
}
