package core

import "fmt"

// Master data shared by sources and targets, so that what a source document
// references (a SKU, a warehouse) exists in the target's base data (K3Cloud
// BD_MATERIAL, KIS materials) and mappings can resolve it.

// SKU is one product of the shared catalog.
type SKU struct {
	ID    string  // Jushuitan sku_id, XBB serialNo, K3Cloud BD_MATERIAL FNumber
	Name  string  // Chinese product name
	Style string  // Jushuitan i_id (style code)
	Unit  string  // unit name
	UnitN string  // K3Cloud unit number
	Price float64 // cost price
}

// Org is a Kingdee organisation; WDT shop remarks carry its number.
type Org struct{ Number, Name string }

// Stock is a warehouse: Jushuitan warehouse name, K3Cloud BD_STOCK number.
type Stock struct{ Number, Name string }

// Supplier is a K3Cloud BD_Supplier.
type Supplier struct{ Number, Name string }

// Dept is a K3Cloud BD_Department.
type Dept struct{ Number, Name string }

var (
	productWords = []string{"纯棉T恤", "牛仔裤", "羽绒服", "运动鞋", "保温杯", "蓝牙耳机", "双肩包", "毛呢大衣", "真丝围巾", "儿童卫衣", "电热水壶", "不锈钢锅", "洗发水", "面膜", "茶叶礼盒"}
	colours      = []string{"白色", "黑色", "红色", "藏青", "灰色", "卡其"}
	sizes        = []string{"S", "M", "L", "XL", "均码"}
	units        = []struct{ name, number string }{{"件", "Pcs"}, {"个", "Pcs"}, {"双", "Pair"}, {"盒", "Box"}}
)

// CatalogSize is the number of SKUs in the shared catalog.
const CatalogSize = 200

// Catalog returns the shared SKU catalog for a seed.
func Catalog(seed uint64) []SKU {
	r := NewRand(seed, "catalog")
	out := make([]SKU, CatalogSize)
	for i := range out {
		u := Pick(r, units)
		style := fmt.Sprintf("KS%04d", i/4+1)
		out[i] = SKU{
			ID:    fmt.Sprintf("SKU%05d", i+1),
			Name:  fmt.Sprintf("%s %s %s", Pick(r, productWords), Pick(r, colours), Pick(r, sizes)),
			Style: style,
			Unit:  u.name,
			UnitN: u.number,
			Price: float64(100+r.IntN(99900)) / 100,
		}
	}
	return out
}

// Orgs are the organisations of the simulated Kingdee account. "100" is the
// head office (the usual default in Kingdee examples).
var Orgs = []Org{{"100", "总公司"}, {"101", "华东分公司"}, {"102", "华南分公司"}}

// Stocks are the warehouses, shared by Jushuitan and Kingdee.
var Stocks = []Stock{{"CK001", "主仓"}, {"CK002", "销退仓"}, {"CK003", "进货仓"}, {"CK004", "次品仓"}}

// Suppliers of the simulated Kingdee account.
var Suppliers = []Supplier{{"VEN00001", "杭州织造有限公司"}, {"VEN00002", "义乌小商品供应链"}, {"VEN00003", "广州美妆代工厂"}}

// Depts of the simulated Kingdee account.
var Depts = []Dept{{"BM000001", "仓储部"}, {"BM000002", "电商运营部"}}
