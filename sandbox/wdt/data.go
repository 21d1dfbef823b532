package wdt

import (
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/erpsync/erpsync/sandbox/core"
)

// DatasetShops is the source dataset of the shop list (both routes).
const DatasetShops = "wdt_shops"

// platform is one WDT platform id with its sub-platforms. The ids follow
// WDT's platform table as far as community code shows it [I].
type platform struct {
	id   int
	name string
	subs []string // index = sub_platform_id
}

var platforms = []platform{
	{0, "线下", []string{"门店"}},
	{1, "淘宝", []string{"", "天猫"}}, // sub 0 淘宝集市, 1 天猫
	{3, "京东", []string{"", "自营"}},
	{32, "拼多多", []string{""}},
	{69, "抖音", []string{""}},
	{47, "快手", []string{""}},
}

type region struct {
	province, city, district             int
	provinceName, cityName, districtName string
	zip, street                          string
	telPrefix                            string
}

var regions = []region{
	{330000, 330100, 330106, "浙江省", "杭州市", "西湖区", "310012", "文三路", "0571"},
	{440000, 440100, 440106, "广东省", "广州市", "天河区", "510630", "天河北路", "020"},
	{310000, 310100, 310115, "上海", "上海市", "浦东新区", "200120", "世纪大道", "021"},
	{110000, 110100, 110105, "北京", "北京市", "朝阳区", "100020", "建国路", "010"},
	{320000, 320500, 320508, "江苏省", "苏州市", "姑苏区", "215000", "人民路", "0512"},
}

var (
	brands    = []string{"云锦", "织梦", "优品", "禾木", "青柠", "森屿", "星河", "知味", "暖阳", "初见"}
	shopKinds = []string{"旗舰店", "专营店", "专卖店", "官方店", "直营店"}
	surnames  = []string{"王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴"}
	givens    = []string{"伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "婷", "杰"}
	// badRemarks are remarks that are not a Kingdee org number, so a mapping
	// of FCreateOrgId/FUseOrgId from remark must reject them.
	badRemarks = []string{"999", "华东分公司", "1000", "N/A", "待定"}
)

// Shop shape rules, by shop_id so that every dataset, however small, has
// each kind: a Chinese shop_no (the character-count signing matters), a
// disabled shop, an empty and an invalid remark.
func chineseShopNo(id int) bool { return id%8 == 3 }
func disabledShop(id int) bool  { return id%17 == 5 }
func emptyRemark(id int) bool   { return id%13 == 4 }
func badRemark(id int) bool     { return id%13 == 9 }

// shopAttrs are what the index needs of each shop (index = shop_id-1).
type shopAttrs struct {
	platform []int
	disabled []bool
}

// genShops builds n shops with ids 1..n; modified times spread over the 30
// days before start, ascending with the id as real data loosely is.
//
// To start fast with a million shops, the body holds only the fields that
// identify a shop or feed mappings (shop_id, shop_no, shop_name,
// platform_id, is_disabled, remark); the contact and address fields are
// derived from (seed, shop_id) when a shop is served (shopExtras).
func genShops(env *core.Env) ([]core.Doc, shopAttrs) {
	n := env.Records
	r := core.NewRand(env.Seed, DatasetShops)
	times := core.SpreadTimes(r, n, env.Start(), core.DataSpan)
	docs := make([]core.Doc, n)
	attrs := shopAttrs{platform: make([]int, n), disabled: make([]bool, n)}
	for i := range docs {
		id := i + 1
		p := platforms[r.IntN(len(platforms))]
		sub := subPlatform(env.Seed, id, p)
		remark := core.Pick(r, core.Orgs).Number
		switch {
		case emptyRemark(id):
			remark = ""
		case badRemark(id):
			remark = core.Pick(r, badRemarks)
		}
		disabled := 0
		if disabledShop(id) {
			disabled = 1
		}
		attrs.platform[i] = p.id
		attrs.disabled[i] = disabled == 1
		docs[i] = core.Doc{
			ID:       strconv.Itoa(id),
			Modified: times[i],
			Body: map[string]any{
				"shop_id":     id,
				"shop_no":     shopNo(id),
				"shop_name":   core.Pick(r, brands) + p.name + p.subs[sub] + core.Pick(r, shopKinds) + "(" + strconv.Itoa(id) + ")",
				"platform_id": p.id,
				"is_disabled": disabled,
				"remark":      remark,
			},
		}
	}
	return docs, attrs
}

// shopNo is shop id's number: "SHOP0001", or "店铺01", "店铺02", ... for the
// shops chineseShopNo picks (the k-th of them is 店铺k).
func shopNo(id int) string {
	if chineseShopNo(id) {
		return fmt.Sprintf("店铺%02d", (id-3)/8+1)
	}
	return fmt.Sprintf("SHOP%04d", id)
}

// shopIDByNo inverts shopNo without a map (a million shops start faster).
func shopIDByNo(no string) (int, bool) {
	var id int
	switch {
	case strings.HasPrefix(no, "SHOP"):
		n, err := strconv.Atoi(no[len("SHOP"):])
		if err != nil {
			return 0, false
		}
		id = n
	case strings.HasPrefix(no, "店铺"):
		k, err := strconv.Atoi(no[len("店铺"):])
		if err != nil {
			return 0, false
		}
		id = 8*(k-1) + 3
	default:
		return 0, false
	}
	if id < 1 || shopNo(id) != no { // rejects "SHOP1", "店铺1", "SHOP0003", ...
		return 0, false
	}
	return id, true
}

// draw is a small deterministic generator keyed by (seed, shop id, field),
// so a shop's derived fields need no stored state.
type draw struct{ x uint64 }

func newDraw(seed uint64, id int, salt uint64) *draw {
	return &draw{x: seed ^ uint64(id)*0x9E3779B97F4A7C15 ^ salt*0xD1B54A32D192ED03}
}

// intn is splitmix64 reduced to [0, n).
func (d *draw) intn(n int) int {
	d.x += 0x9E3779B97F4A7C15
	z := d.x
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	z ^= z >> 31
	return int(z % uint64(n))
}

func subPlatform(seed uint64, id int, p platform) int {
	return newDraw(seed, id, 1).intn(len(p.subs))
}

// shopExtras adds the derived shoplist fields of shop id to row.
func shopExtras(seed uint64, id, platformID int, brandName string, row map[string]any) {
	d := newDraw(seed, id, 2)
	reg := regions[d.intn(len(regions))]
	sub := 0
	accountID, accountNick := "", ""
	for _, p := range platforms {
		if p.id == platformID {
			sub = subPlatform(seed, id, p)
			if p.id != 0 {
				accountID = strconv.Itoa(2200000000 + d.intn(1000000000))
				accountNick = brandName + p.name + "官方"
			}
		}
	}
	contact := surnames[d.intn(len(surnames))] + givens[d.intn(len(givens))]
	if d.intn(2) == 0 {
		contact += givens[d.intn(len(givens))]
	}
	row["sub_platform_id"] = sub
	row["account_id"] = accountID
	row["account_nick"] = accountNick
	row["province"] = reg.province
	row["city"] = reg.city
	row["district"] = reg.district
	row["province_name"] = reg.provinceName
	row["city_name"] = reg.cityName
	row["district_name"] = reg.districtName
	row["address"] = reg.street + strconv.Itoa(1+d.intn(999)) + "号"
	row["contact"] = contact
	row["zip"] = reg.zip
	row["mobile"] = fmt.Sprintf("1%d%09d", 3+d.intn(7), d.intn(1000000000))
	row["telno"] = fmt.Sprintf("%s-%08d", reg.telPrefix, 10000000+d.intn(90000000))
}

// mutateShop marks a touched shop visibly: its name carries the version
// (" v2", " v3", ...). The remark is left alone because mappings read the
// Kingdee org from it.
func mutateShop(body map[string]any, version int) {
	name, _ := body["shop_name"].(string)
	if i := strings.LastIndex(name, " v"); i >= 0 {
		name = name[:i]
	}
	body["shop_name"] = fmt.Sprintf("%s v%d", name, version)
}

// renderShop is one shoplist[] entry: the body, the derived fields and
// modified in China time.
func renderShop(seed uint64, d core.Doc) map[string]any {
	row := maps.Clone(d.Body)
	id, _ := d.Body["shop_id"].(int)
	p, _ := d.Body["platform_id"].(int)
	name, _ := d.Body["shop_name"].(string)
	brand := ""
	for _, b := range brands {
		if strings.HasPrefix(name, b) {
			brand = b
		}
	}
	shopExtras(seed, id, p, brand, row)
	row["modified"] = d.Modified.In(core.Shanghai).Format(core.VendorTimeLayout)
	return row
}

// listKey selects one precomputed list: a platform id (anyPlatform for
// all) and a disabled filter.
type listKey struct{ platform, disabled int }

const anyPlatform = -1

// shopIndex answers shop queries without scanning: shop ids per filter,
// ascending, built once. Mutations change names and times only, never
// platform or is_disabled, so the index never goes stale.
type shopIndex struct {
	lists map[listKey][]int
	shopAttrs
}

func buildIndex(attrs shopAttrs) *shopIndex {
	ix := &shopIndex{lists: map[listKey][]int{}, shopAttrs: attrs}
	for i, p := range attrs.platform {
		dis := disabledEnabledOnly
		if attrs.disabled[i] {
			dis = disabledOnly
		}
		for _, k := range []listKey{{anyPlatform, dis}, {p, dis}} {
			ix.lists[k] = append(ix.lists[k], i+1)
		}
	}
	return ix
}

// shopQuery is a validated shop.php / wdt.shop.query filter.
type shopQuery struct {
	shopNo    string
	platforms []int // empty: any
	disabled  int
	pageNo    int
	pageSize  int
}

// matches tells whether shop id is covered by q (for MaybeMutate).
func (ix *shopIndex) matches(q shopQuery, id int) bool {
	i := id - 1
	if i < 0 || i >= len(ix.platform) {
		return false
	}
	if ix.disabled[i] != (q.disabled == disabledOnly) {
		return false
	}
	if q.shopNo != "" && shopNo(id) != q.shopNo {
		return false
	}
	if len(q.platforms) == 0 {
		return true
	}
	for _, p := range q.platforms {
		if ix.platform[i] == p {
			return true
		}
	}
	return false
}

// ids returns the shop ids q covers, ascending. The common cases (no
// filter, one platform) return a precomputed slice, not a copy: callers
// must not modify it.
func (ix *shopIndex) ids(q shopQuery) []int {
	if q.shopNo != "" {
		id, ok := shopIDByNo(q.shopNo)
		if !ok || !ix.matches(q, id) {
			return nil
		}
		return []int{id}
	}
	switch len(q.platforms) {
	case 0:
		return ix.lists[listKey{anyPlatform, q.disabled}]
	case 1:
		return ix.lists[listKey{q.platforms[0], q.disabled}]
	}
	// Several platforms (platform_ids): merge the ascending lists. Rare, so
	// not precomputed.
	var out []int
	seen := map[int]bool{}
	var srcs [][]int
	for _, p := range q.platforms {
		if !seen[p] {
			seen[p] = true
			srcs = append(srcs, ix.lists[listKey{p, q.disabled}])
		}
	}
	pos := make([]int, len(srcs))
	for {
		best := -1
		for s, l := range srcs {
			if pos[s] < len(l) && (best < 0 || l[pos[s]] < srcs[best][pos[best]]) {
				best = s
			}
		}
		if best < 0 {
			return out
		}
		out = append(out, srcs[best][pos[best]])
		pos[best]++
	}
}
