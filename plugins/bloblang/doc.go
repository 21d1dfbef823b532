// Package bloblang adds Bloblang methods for ERP data, so mappings say what
// they mean instead of re-implementing Kingdee's conventions each time:
//
//   - kd_ref(key: "FNumber"): a Kingdee base-data reference {"FNumber": v}
//   - kd_datetime(): a time as Kingdee expects it, 2006-01-02T15:04:05 in China time
//   - cn_time(): a vendor time (2006-01-02 15:04:05[.000], Unix seconds or
//     milliseconds) as a timestamp in Asia/Shanghai
//   - cn_datetime(): the same time as 2006-01-02 15:04:05 in China time (a
//     MySQL DATETIME)
//   - kd_quote(): a string as a quoted literal of a Kingdee FilterString
package bloblang
