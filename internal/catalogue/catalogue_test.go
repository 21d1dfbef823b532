package catalogue

import "testing"

func TestLoads(t *testing.T) {
	for _, v := range []string{Jushuitan, WDT, XBB} {
		if len(All(v)) == 0 {
			t.Errorf("%s: no entries", v)
		}
		if d := Defaults(v); d.Paging.MaxSize == 0 {
			t.Errorf("%s: no defaults", v)
		}
	}
	if _, ok := Lookup(WDT, "hu3cgwt0tc.wdt.shop.query"); !ok {
		t.Error("qimen alias with router prefix not found")
	}
	if _, ok := Lookup(Jushuitan, "open/other/inout/query"); !ok {
		t.Error("path without slash not found")
	}
	if _, ok := Lookup(XBB, "/pro/v2/api/product/list"); !ok {
		t.Error("xbb path with prefix not found")
	}
	if _, ok := Lookup(Jushuitan, "/open/nothing"); ok {
		t.Error("unknown interface found")
	}
}
