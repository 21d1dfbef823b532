package kingdee

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/erpsync/erpsync/internal/erpsynctest"
	"github.com/erpsync/erpsync/internal/streamtest"
	"github.com/erpsync/erpsync/sandbox"
)

const excelStream = "excel_to_kingdee_materials"

// formula is a cell holding a formula without a calculated value (excelize
// does not calculate on write): the scanner flags such a row as unreadable.
type formula string

var materialHeader = []any{"物料编码", "物料名称", "规格型号", "单位", "描述"}

// writeWorkbook generates dir/name with sheet 物料: a title on row 1, the
// header on row 2, then rows (rows[i] is spreadsheet row i+3). Nothing is
// committed: every test builds its workbooks.
func writeWorkbook(t *testing.T, dir, name string, rows ...[]any) string {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	const sheet = "物料"
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		t.Fatal(err)
	}
	all := append([][]any{{"物料导入（测试）"}, materialHeader}, rows...)
	for r, row := range all {
		for c, v := range row {
			if v == nil {
				continue
			}
			cell, _ := excelize.CoordinatesToCellName(c+1, r+1)
			var err error
			if fv, ok := v.(formula); ok {
				err = f.SetCellFormula(sheet, cell, string(fv))
			} else {
				err = f.SetCellValue(sheet, cell, v)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// excelRun is one import: its environment and dead-letter file.
type excelRun struct {
	env    map[string]string
	dlPath string
}

func newExcelRun(t *testing.T, sb *sandbox.Server, policy, glob string) excelRun {
	t.Helper()
	state := erpsynctest.StateDir(t)
	env := merge(k3Env(sb), map[string]string{
		"ERPSYNC_STATE_DIR":  state,
		"EXCEL_PATHS":        glob,
		"EXCEL_SHEET":        "物料",
		"EXCEL_HEADER_ROW":   "2",
		"EXCEL_ON_DUPLICATE": policy,
	})
	return excelRun{env: env, dlPath: filepath.Join(state, "dead_letters", excelStream+".jsonl")}
}

// material is the expected content of one BD_MATERIAL.
type material struct {
	name, spec, unit string
	writes           int
}

// checkMaterials asserts the materials with the given numbers (upper case)
// hold exactly want, and that numbers in absent were never created.
func checkMaterials(t *testing.T, sb *sandbox.Server, want map[string]material, absent ...string) {
	t.Helper()
	docs := k3Docs(t, sb, "BD_MATERIAL")
	for _, no := range sortedKeys(want) {
		w := want[no]
		d, ok := docs[no]
		if !ok {
			t.Errorf("material %s was not imported", no)
			continue
		}
		checks := []struct{ field, got, want string }{
			{"FName", fmt.Sprint(d.Data["FName"]), w.name},
			{"FSpecification", fmt.Sprint(d.Data["FSpecification"]), w.spec},
			{"FBaseUnitId", streamtest.RefNumber(d.Data["FBaseUnitId"]), w.unit},
			{"FCreateOrgId", streamtest.RefNumber(d.Data["FCreateOrgId"]), "100"},
			{"FUseOrgId", streamtest.RefNumber(d.Data["FUseOrgId"]), "100"},
			{"writes", fmt.Sprint(d.Writes), fmt.Sprint(w.writes)},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("material %s: %s = %q, want %q", no, c.field, c.got, c.want)
			}
		}
	}
	for _, no := range absent {
		if d, ok := docs[strings.ToUpper(no)]; ok {
			t.Errorf("material %s should not exist, found %v", no, d.Data)
		}
	}
}

// checkDeadRows asserts the dead letter holds exactly one line per row in
// want (row number -> fragment of the reason), each with file, sheet and row.
func checkDeadRows(t *testing.T, r excelRun, file string, want map[int]string) {
	t.Helper()
	got := map[int]int{}
	for _, dl := range deadLetters(t, r.dlPath) {
		rowF, _ := dl["xlsx_row"].(float64)
		row := int(rowF)
		got[row]++
		reason := fmt.Sprint(dl["reason"])
		frag, ok := want[row]
		switch {
		case !ok:
			t.Errorf("unexpected dead letter for row %d: %s", row, reason)
		case !strings.Contains(reason, frag):
			t.Errorf("dead letter of row %d: reason %q does not contain %q", row, reason, frag)
		}
		if dl["stream"] != excelStream || dl["sheet"] != "物料" || !strings.HasSuffix(fmt.Sprint(dl["file"]), file) ||
			!strings.HasSuffix(fmt.Sprint(dl["error"]), "(permanent)") || dl["payload"] == nil {
			t.Errorf("dead letter of row %d: stream %v, sheet %v, file %v, error %v, payload %v", row, dl["stream"], dl["sheet"], dl["file"], dl["error"], dl["payload"])
		}
	}
	for row := range want {
		if got[row] != 1 {
			t.Errorf("row %d is in the dead letter %d times, want 1 (reason containing %q)", row, got[row], want[row])
		}
	}
}

// unitNames are the names of the sandbox's units by number (Pcs, Box,
// Pair), so that workbooks can name units as users do.
func unitNames(t *testing.T, sb *sandbox.Server) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, d := range k3Docs(t, sb, "BD_UNIT") {
		out[d.Number] = fmt.Sprint(d.Data["FName"])
	}
	for _, no := range []string{"Pcs", "Box", "Pair"} {
		if out[no] == "" {
			t.Fatalf("the sandbox has no unit %s: %v", no, out)
		}
	}
	return out
}

// mixedRows is one workbook with every kind of row; row numbers in the
// comments are the spreadsheet's (title on 1, header on 2). u maps unit
// numbers to names.
func mixedRows(u map[string]string) [][]any {
	return [][]any{
		{"XL-001", "纯棉T恤 白色 M", "KS0001", u["Pcs"], "首次导入"},     // 3: unit by name
		{"XL-002", "牛仔裤 藏青 L", nil, "Pcs", nil},                 // 4: unit by number, no spec
		{"XL-001", "纯棉T恤 白色 M（改）", "KS0001-B", u["Pcs"], nil},   // 5: duplicate of 3
		{nil, "没有编码的物料", "KS9", u["Pcs"], nil},                  // 6: no number
		{"XL-003", "  ", "KS3", u["Pcs"], nil},                  // 7: no name
		{"XL-004", "运动鞋 黑色 42", formula("1/0"), u["Pair"], nil}, // 8: unreadable cell
		{"XL-005", "保温杯 500ml", "BW1", "公斤", nil},               // 9: no such unit
		{" xl-002 ", "牛仔裤 藏青 L（改）", "KS0002", u["Box"], nil},    // 10: duplicate of 4 (trimmed, case-folded)
		{"SKU00001", "已审核物料改名", nil, u["Pcs"], nil},             // 11: exists, audited (seeded)
		{"XL-006", "双肩包 灰色 均码", "BP-6", "pcs", "单位编码不区分大小写"},    // 12: unit number in another case
	}
}

// TestIntegrationExcelMaterialsSkip: policy skip keeps the first row of a
// number, leaves existing materials alone, and dead-letters every other
// row with its row number and reason. A second import changes nothing.
func TestIntegrationExcelMaterialsSkip(t *testing.T) {
	sb := streamtest.StartSandbox(t, 50)
	dir := filepath.Join(t.TempDir(), "import")
	writeWorkbook(t, dir, "materials.xlsx", mixedRows(unitNames(t, sb))...)
	before := k3Docs(t, sb, "BD_MATERIAL")["SKU00001"]

	run := newExcelRun(t, sb, "skip", filepath.Join(dir, "*.xlsx"))
	runStream(t, excelStream, run.env, false)
	want := map[string]material{
		"XL-001": {name: "纯棉T恤 白色 M", spec: "KS0001", unit: "Pcs", writes: 1},
		"XL-002": {name: "牛仔裤 藏青 L", spec: "<nil>", unit: "Pcs", writes: 1},
		"XL-006": {name: "双肩包 灰色 均码", spec: "BP-6", unit: "Pcs", writes: 1},
	}
	checkMaterials(t, sb, want, "XL-003", "XL-004", "XL-005")
	checkDeadRows(t, run, "materials.xlsx", map[int]string{
		5:  "duplicate 物料编码 \"XL-001\", row 3 is imported instead (EXCEL_ON_DUPLICATE=skip: the first row wins)",
		6:  "row 6: 物料编码 is empty",
		7:  "row 7: 物料名称 is empty",
		8:  "row 8: column 规格型号",
		9:  "单位 \"公斤\" is neither the number nor the name of a Kingdee unit",
		10: "duplicate 物料编码 \"XL-002\", row 4 is imported instead",
	})
	after := k3Docs(t, sb, "BD_MATERIAL")["SKU00001"]
	if after.Writes != before.Writes || after.Data["FName"] != before.Data["FName"] {
		t.Errorf("existing material SKU00001 was changed under skip: %v -> %v", before.Data["FName"], after.Data["FName"])
	}

	// The same workbook again: everything imported exists and is left alone.
	again := newExcelRun(t, sb, "skip", filepath.Join(dir, "*.xlsx"))
	runStream(t, excelStream, again.env, false)
	checkMaterials(t, sb, want)
	if n := len(deadLetters(t, again.dlPath)); n != 6 {
		t.Errorf("second import: %d dead letters, want the same 6 bad rows", n)
	}
}

// TestIntegrationExcelMaterialsOverwrite: policy overwrite keeps the last
// row of a number and updates existing materials; an audited one cannot be
// modified and is dead-lettered with Kingdee's reason.
func TestIntegrationExcelMaterialsOverwrite(t *testing.T) {
	sb := streamtest.StartSandbox(t, 50)
	dir := filepath.Join(t.TempDir(), "import")
	writeWorkbook(t, dir, "materials.xlsx", mixedRows(unitNames(t, sb))...)

	run := newExcelRun(t, sb, "overwrite", filepath.Join(dir, "*.xlsx"))
	runStream(t, excelStream, run.env, false)
	checkMaterials(t, sb, map[string]material{
		"XL-001": {name: "纯棉T恤 白色 M（改）", spec: "KS0001-B", unit: "Pcs", writes: 1},
		"XL-002": {name: "牛仔裤 藏青 L（改）", spec: "KS0002", unit: "Box", writes: 1},
		"XL-006": {name: "双肩包 灰色 均码", spec: "BP-6", unit: "Pcs", writes: 1},
	}, "XL-003", "XL-004", "XL-005")
	checkDeadRows(t, run, "materials.xlsx", map[int]string{
		3:  "duplicate 物料编码 \"XL-001\", row 5 is imported instead (EXCEL_ON_DUPLICATE=overwrite: the last row wins)",
		4:  "duplicate 物料编码 \"XL-002\", row 10 is imported instead",
		6:  "物料编码 is empty",
		7:  "物料名称 is empty",
		8:  "row 8: column 规格型号",
		9:  "单位 \"公斤\"",
		11: "SKU00001", // audited: Kingdee refuses the update (MsgCode 12)
	})

	// A second workbook updates what the first created.
	dir2 := filepath.Join(t.TempDir(), "import")
	writeWorkbook(t, dir2, "update.xlsx",
		[]any{"XL-001", "纯棉T恤 白色 M（第二版）", "KS0001-C", "Pcs", nil},
		[]any{"XL-007", "毛呢大衣 卡其 XL", "MN-7", "Pcs", nil},
	)
	run2 := newExcelRun(t, sb, "overwrite", filepath.Join(dir2, "*.xlsx"))
	runStream(t, excelStream, run2.env, false)
	checkMaterials(t, sb, map[string]material{
		"XL-001": {name: "纯棉T恤 白色 M（第二版）", spec: "KS0001-C", unit: "Pcs", writes: 2},
		"XL-002": {name: "牛仔裤 藏青 L（改）", spec: "KS0002", unit: "Box", writes: 1},
		"XL-007": {name: "毛呢大衣 卡其 XL", spec: "MN-7", unit: "Pcs", writes: 1},
	})
	checkDeadRows(t, run2, "update.xlsx", map[int]string{})
}

// TestIntegrationExcelMaterialsUpdateOnly: policy update_only updates
// materials that exist (the last row of a number wins) and dead-letters
// rows of materials that do not.
func TestIntegrationExcelMaterialsUpdateOnly(t *testing.T) {
	sb := streamtest.StartSandbox(t, 50)
	u := unitNames(t, sb)
	seedDir := filepath.Join(t.TempDir(), "import")
	writeWorkbook(t, seedDir, "seed.xlsx",
		[]any{"XL-101", "电热水壶 白色", "DR-1", u["Pcs"], nil},
		[]any{"XL-102", "不锈钢锅 灰色", "GG-2", u["Pcs"], nil},
	)
	runStream(t, excelStream, newExcelRun(t, sb, "skip", filepath.Join(seedDir, "*.xlsx")).env, false)

	dir := filepath.Join(t.TempDir(), "import")
	writeWorkbook(t, dir, "update.xlsx",
		[]any{"XL-101", "电热水壶 白色 1.5L", "DR-1A", "个", nil}, // 3: superseded by 6
		[]any{"XL-109", "真丝围巾 红色", "SJ-9", "件", nil},       // 4: does not exist
		[]any{"XL-102", "不锈钢锅 灰色 28cm", nil, "盒", nil},     // 5: update, spec kept
		[]any{"xl-101", "电热水壶 白色 1.7L", "DR-1B", "个", nil}, // 6: wins for XL-101
		[]any{"XL-103", nil, "X", "个", nil},                // 7: no name
	)
	run := newExcelRun(t, sb, "update_only", filepath.Join(dir, "*.xlsx"))
	runStream(t, excelStream, run.env, false)
	checkMaterials(t, sb, map[string]material{
		"XL-101": {name: "电热水壶 白色 1.7L", spec: "DR-1B", unit: "Pcs", writes: 2},
		"XL-102": {name: "不锈钢锅 灰色 28cm", spec: "GG-2", unit: "Box", writes: 2},
	}, "XL-109", "XL-103")
	checkDeadRows(t, run, "update.xlsx", map[int]string{
		3: "duplicate 物料编码 \"XL-101\", row 6 is imported instead (EXCEL_ON_DUPLICATE=update_only: the last row wins)",
		4: "material \"XL-109\" does not exist in Kingdee organisation 100 and EXCEL_ON_DUPLICATE is update_only",
		7: "物料名称 is empty",
	})
}

// TestIntegrationExcelMaterialsUnknownPolicy: a policy other than skip,
// overwrite and update_only stops the stream at start, before any row.
func TestIntegrationExcelMaterialsUnknownPolicy(t *testing.T) {
	sb := streamtest.StartSandbox(t, 50)
	dir := filepath.Join(t.TempDir(), "import")
	writeWorkbook(t, dir, "materials.xlsx", []any{"XL-201", "面膜", nil, "Box", nil})
	run := newExcelRun(t, sb, "replace", filepath.Join(dir, "*.xlsx"))
	out := runStream(t, excelStream, run.env, true)
	if !strings.Contains(out, "excel_policy_replace") {
		t.Errorf("the failure does not name the missing policy resource:\n%s", out)
	}
	checkMaterials(t, sb, nil, "XL-201")
}
