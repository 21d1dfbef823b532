package bloblang

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/redpanda-data/benthos/v4/public/bloblang"
)

// shanghai is China time: every vendor here writes wall-clock times in it.
var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}()

// KingdeeDateTimeLayout is how Kingdee takes dates and times.
const KingdeeDateTimeLayout = "2006-01-02T15:04:05"

// vendorLayouts are the wall-clock forms the vendors send, all China time.
var vendorLayouts = []string{
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02",
	"2006/01/02 15:04:05",
	"2006/01/02",
}

// ParseCNTime reads a vendor time: a wall-clock string in China time (with
// optional fraction), an RFC 3339 string (its own offset wins), or Unix
// seconds / milliseconds as a number or numeric string (values above 1e11
// are milliseconds: 1e11 seconds is the year 5138).
func ParseCNTime(v any) (time.Time, error) {
	switch t := v.(type) {
	case time.Time:
		return t.In(shanghai), nil
	case int64:
		return unixAuto(float64(t))
	case int:
		return unixAuto(float64(t))
	case uint64:
		return unixAuto(float64(t))
	case float64:
		return unixAuto(t)
	case json.Number:
		f, err := t.Float64()
		if err != nil {
			return time.Time{}, fmt.Errorf("cn_time: %q is not a number", t.String())
		}
		return unixAuto(f)
	case []byte:
		return ParseCNTime(string(t))
	case string:
		s := strings.TrimSpace(t)
		if s == "" {
			return time.Time{}, fmt.Errorf("cn_time: empty string is not a time")
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return unixAuto(f)
		}
		if ts, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return ts.In(shanghai), nil
		}
		for _, l := range vendorLayouts {
			if ts, err := time.ParseInLocation(l, s, shanghai); err == nil {
				return ts, nil
			}
		}
		return time.Time{}, fmt.Errorf("cn_time: %q is not a vendor time (expected 2006-01-02 15:04:05, optional milliseconds, or Unix seconds/milliseconds)", s)
	case nil:
		return time.Time{}, fmt.Errorf("cn_time: null is not a time")
	}
	return time.Time{}, fmt.Errorf("cn_time: a %T is not a time", v)
}

func unixAuto(f float64) (time.Time, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e15 {
		return time.Time{}, fmt.Errorf("cn_time: %v is not a Unix time", f)
	}
	if f > 1e11 {
		ms := int64(f)
		return time.UnixMilli(ms).In(shanghai), nil
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).In(shanghai), nil
}

// isEmpty says whether a value stands for "no reference".
func isEmpty(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(t) == ""
	case []byte:
		return strings.TrimSpace(string(t)) == ""
	}
	return false
}

func init() {
	bloblang.MustRegisterMethodV2("kd_ref",
		bloblang.NewPluginSpec().
			Category("ERP").
			Description("Wraps a value as a Kingdee base-data reference, `{\"FNumber\": value}` (the key is selectable: `FNUMBER`, `FID`, `FUserID`, ...). An empty string or null gives null, so an optional reference is left out instead of pointing at nothing.").
			Param(bloblang.NewStringParam("key").Description("The reference key.").Default("FNumber")).
			Example("A material reference", `root.FMaterialId = this.sku.kd_ref()`,
				[2]string{`{"sku":"SKU00001"}`, `{"FMaterialId":{"FNumber":"SKU00001"}}`},
				[2]string{`{"sku":""}`, `{"FMaterialId":null}`}).
			Example("Another key", `root.FBillTypeID = "QTRKD01_SYS".kd_ref(key: "FNUMBER")`,
				[2]string{`{}`, `{"FBillTypeID":{"FNUMBER":"QTRKD01_SYS"}}`}),
		func(args *bloblang.ParsedParams) (bloblang.Method, error) {
			key, err := args.GetString("key")
			if err != nil {
				return nil, err
			}
			if strings.TrimSpace(key) == "" {
				return nil, fmt.Errorf("kd_ref: key must not be empty")
			}
			return func(v any) (any, error) {
				if isEmpty(v) {
					return nil, nil
				}
				switch v.(type) {
				case string, []byte, json.Number, int64, int, uint64, float64:
					return map[string]any{key: v}, nil
				}
				// A bool, timestamp, object or array would be sent as a
				// reference Kingdee cannot resolve.
				return nil, fmt.Errorf("kd_ref: a reference number must be a string or number, got %T", v)
			}, nil
		})

	bloblang.MustRegisterMethodV2("cn_time",
		bloblang.NewPluginSpec().
			Category("ERP").
			Description("Parses a vendor time as a timestamp in Asia/Shanghai: `2006-01-02 15:04:05` (China wall-clock time, optional fraction such as `.807`), a date, an RFC 3339 string, or Unix seconds or milliseconds (numbers or numeric strings; above 1e11 they are milliseconds). Errors on anything else, so a bad time rejects the document instead of writing a wrong date.").
			Example("Wall-clock and Unix times", `root.a = this.a.cn_time().ts_unix()
root.b = this.b.cn_time().ts_unix()
root.c = this.c.cn_time().ts_unix()`,
				[2]string{`{"a":"2024-06-01 10:00:00","b":1717207200,"c":"1717207200000"}`, `{"a":1717207200,"b":1717207200,"c":1717207200}`}),
		func(*bloblang.ParsedParams) (bloblang.Method, error) {
			return func(v any) (any, error) { return ParseCNTime(v) }, nil
		})

	bloblang.MustRegisterMethodV2("kd_datetime",
		bloblang.NewPluginSpec().
			Category("ERP").
			Description("Formats a time as Kingdee expects it: `2006-01-02T15:04:05` in China time. Takes a timestamp or anything `cn_time` reads.").
			Example("A Jushuitan io_date to a Kingdee FDate", `root.FDate = this.io_date.kd_datetime()`,
				[2]string{`{"io_date":"2024-06-01 10:00:00"}`, `{"FDate":"2024-06-01T10:00:00"}`},
				[2]string{`{"io_date":1717207200}`, `{"FDate":"2024-06-01T10:00:00"}`}),
		func(*bloblang.ParsedParams) (bloblang.Method, error) {
			return func(v any) (any, error) {
				t, err := ParseCNTime(v)
				if err != nil {
					return nil, fmt.Errorf("kd_datetime: %w", err)
				}
				t = t.In(shanghai)
				if y := t.Year(); y < 1 || y > 9999 {
					// The layout has four year digits: Kingdee cannot take it.
					return nil, fmt.Errorf("kd_datetime: %v is in year %d, outside 0001-9999", v, y)
				}
				return t.Format(KingdeeDateTimeLayout), nil
			}, nil
		})

	bloblang.MustRegisterMethodV2("cn_datetime",
		bloblang.NewPluginSpec().
			Category("ERP").
			Description("Formats a time as `2006-01-02 15:04:05` in China time, the form of a MySQL DATETIME column. Takes a timestamp or anything `cn_time` reads, in one step (`this.cn_time().ts_format(\"2006-01-02 15:04:05\", \"Asia/Shanghai\")`).").
			Example("XBB Unix seconds to a DATETIME", `root.add_time = this.addTime.cn_datetime()`,
				[2]string{`{"addTime":1717207200}`, `{"add_time":"2024-06-01 10:00:00"}`},
				[2]string{`{"addTime":"2024-06-01T02:00:00Z"}`, `{"add_time":"2024-06-01 10:00:00"}`}),
		func(*bloblang.ParsedParams) (bloblang.Method, error) {
			return func(v any) (any, error) {
				t, err := ParseCNTime(v)
				if err != nil {
					return nil, fmt.Errorf("cn_datetime: %w", err)
				}
				return t.In(shanghai).Format(time.DateTime), nil
			}, nil
		})

	bloblang.MustRegisterMethodV2("kd_quote",
		bloblang.NewPluginSpec().
			Category("ERP").
			Description("Quotes a string as a literal of a Kingdee FilterString (`'...'` with `'` doubled), so values taken from source data cannot break or widen a filter.").
			Example("A lookup filter", `root.filter = "FNumber = " + this.sku.kd_quote()`,
				[2]string{`{"sku":"O'Brien-1"}`, `{"filter":"FNumber = 'O''Brien-1'"}`}),
		func(*bloblang.ParsedParams) (bloblang.Method, error) {
			return func(v any) (any, error) {
				var s string
				switch t := v.(type) {
				case string:
					s = t
				case json.Number:
					s = t.String()
				case int64, float64, int:
					s = fmt.Sprint(t)
				default:
					return nil, fmt.Errorf("kd_quote: expected a string or number, got %T", v)
				}
				return "'" + strings.ReplaceAll(s, "'", "''") + "'", nil
			}, nil
		})
}
