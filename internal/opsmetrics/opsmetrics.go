// Package opsmetrics holds the erpsync_* metrics every vendor component
// shares, so sources and targets count calls and renewals the same way.
package opsmetrics

import (
	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/internal/vendor"
)

// Shared metric names: part of the user contract (dashboards, alert rules).
const (
	VendorRequests     = "erpsync_vendor_requests_total"     // vendor, interface, code
	CredentialRenewals = "erpsync_credential_renewals_total" // vendor
)

// Observer returns a vendor.Observer counting every call of a vendor
// client in erpsync_vendor_requests_total{vendor,interface,code}.
func Observer(mgr *service.Resources, vendorName string) vendor.Observer {
	c := mgr.Metrics().NewCounter(VendorRequests, "vendor", "interface", "code")
	return func(iface, code string) { c.Incr(1, vendorName, iface, code) }
}

// Renewals returns a function counting one token or session renewal of a
// vendor in erpsync_credential_renewals_total{vendor}.
func Renewals(mgr *service.Resources, vendorName string) func() {
	c := mgr.Metrics().NewCounter(CredentialRenewals, "vendor")
	return func() { c.Incr(1, vendorName) }
}
