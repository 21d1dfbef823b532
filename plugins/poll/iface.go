package poll

import (
	"fmt"
	"strings"
	"time"

	"github.com/redpanda-data/benthos/v4/public/bloblang"
	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/erpsync/erpsync/internal/catalogue"
	"github.com/erpsync/erpsync/internal/vendor"
)

// Fields of the `interface` object: what a user sets for an interface
// erpsync's catalogue lacks (or to correct a catalogued one).
const (
	FieldInterface        = "interface"
	FieldIfaceList        = "list"
	FieldIfaceIDFields    = "id_fields"
	FieldIfaceDocumentID  = "document_id"
	FieldIfaceModified    = "modified_fields"
	FieldIfaceMaxSpan     = "max_span"
	FieldIfaceMaxPageSize = "max_page_size"
	FieldIfacePageField   = "page_field"
	FieldIfaceSizeField   = "size_field"
	FieldIfaceFirstPage   = "first_page"
	FieldIfaceWindowStart = "window_start_field"
	FieldIfaceWindowEnd   = "window_end_field"
)

// InterfaceField is the `interface` config field of the polling inputs.
func InterfaceField(vendorName string) *service.ConfigField {
	return service.NewObjectField(FieldInterface,
		service.NewStringField(FieldIfaceList).Description("Where the documents sit in the answer: a field of the answer's data (Jushuitan `data`, WDT the answer object, XBB `result`), or empty when the data is the array itself.").Optional(),
		service.NewStringListField(FieldIfaceIDFields).Description("The document field(s) holding each document's id (metadata `source_id`); several are joined by `:` in this order. Every document must carry them.").Optional(),
		service.NewBloblangField(FieldIfaceDocumentID).Description("A Bloblang mapping computing each document's id from the document, instead of `id_fields`, e.g. `root = this.io_id.string() + \":\" + this.sku_sn`. It must give a non-empty string.").Optional(),
		service.NewStringListField(FieldIfaceModified).Description("The document field(s) holding its modified time (metadata `source_modified`); the first present wins.").Optional(),
		service.NewDurationField(FieldIfaceMaxSpan).Description("The longest window the vendor accepts for this interface.").Optional(),
		service.NewIntField(FieldIfaceMaxPageSize).Description("The largest page the vendor accepts for this interface.").Optional(),
		service.NewStringField(FieldIfacePageField).Description("The name of the page-number parameter.").Optional(),
		service.NewStringField(FieldIfaceSizeField).Description("The name of the page-size parameter.").Optional(),
		service.NewIntField(FieldIfaceFirstPage).Description("The number of the first page: 0 or 1.").Optional(),
		service.NewStringField(FieldIfaceWindowStart).Description("The parameter of the window's start, sent when `params` is not set.").Optional(),
		service.NewStringField(FieldIfaceWindowEnd).Description("The parameter of the window's end, sent when `params` is not set.").Optional(),
	).Description(fmt.Sprintf("How to read `api`, for an interface erpsync's catalogue of %s interfaces lacks (`erpsync catalogue %s` lists them, with their id and modified fields, windows, paging, limits and sources): without `id_fields` or `document_id` such an interface is refused at lint. For a catalogued interface every field set here replaces the catalogue's value.", vendorName, vendorName)).
		Optional().Advanced()
}

// Interface is the resolved description of the interface an input reads.
type Interface struct {
	catalogue.Entry
	// Catalogued: the entry comes from the catalogue (else from the
	// vendor's defaults and the user's settings).
	Catalogued bool
	// DocumentID computes document ids when set (interface.document_id).
	DocumentID *bloblang.Executor
}

// Limits are the engine's limits of the interface.
func (i Interface) Limits() VendorLimits {
	return InterfaceLimits(i.Entry)
}

// ParseInterface reads `api` and `interface` and resolves them against the
// catalogue. protocol is WDT's ("" for the other vendors).
func ParseInterface(conf *service.ParsedConfig, vendorName, protocol string) (Interface, error) {
	api, err := conf.FieldString(FieldAPI)
	if err != nil {
		return Interface{}, err
	}
	if strings.TrimSpace(api) == "" {
		return Interface{}, fmt.Errorf("%s: field api must name the vendor interface", vendorName)
	}
	var ov catalogue.Override
	var docID *bloblang.Executor
	if conf.Contains(FieldInterface) {
		c := conf.Namespace(FieldInterface)
		if c.Contains(FieldIfaceList) {
			if ov.List, err = c.FieldString(FieldIfaceList); err != nil {
				return Interface{}, err
			}
			ov.List, ov.ListSet = strings.TrimSpace(ov.List), true
		}
		for _, f := range []struct {
			name string
			dst  *[]string
		}{{FieldIfaceIDFields, &ov.ID}, {FieldIfaceModified, &ov.Modified}} {
			if c.Contains(f.name) {
				if *f.dst, err = c.FieldStringList(f.name); err != nil {
					return Interface{}, err
				}
			}
		}
		if c.Contains(FieldIfaceDocumentID) {
			if docID, err = c.FieldBloblang(FieldIfaceDocumentID); err != nil {
				return Interface{}, err
			}
			ov.DocumentID = true
		}
		if c.Contains(FieldIfaceMaxSpan) {
			if ov.MaxSpan, err = c.FieldDuration(FieldIfaceMaxSpan); err != nil {
				return Interface{}, err
			}
		}
		if c.Contains(FieldIfaceMaxPageSize) {
			if ov.MaxPageSize, err = c.FieldInt(FieldIfaceMaxPageSize); err != nil {
				return Interface{}, err
			}
		}
		if c.Contains(FieldIfaceFirstPage) {
			if ov.FirstPage, err = c.FieldInt(FieldIfaceFirstPage); err != nil {
				return Interface{}, err
			}
			ov.FirstPageSet = true
		}
		for _, f := range []struct {
			name string
			dst  *string
		}{{FieldIfacePageField, &ov.Page}, {FieldIfaceSizeField, &ov.Size}, {FieldIfaceWindowStart, &ov.WindowStart}, {FieldIfaceWindowEnd, &ov.WindowEnd}} {
			if c.Contains(f.name) {
				if *f.dst, err = c.FieldString(f.name); err != nil {
					return Interface{}, err
				}
				*f.dst = strings.TrimSpace(*f.dst)
			}
		}
		if len(ov.ID) > 0 && ov.DocumentID {
			return Interface{}, fmt.Errorf("%s %s: set interface.id_fields or interface.document_id, not both", vendorName, api)
		}
	}
	e, err := catalogue.Resolve(vendorName, protocol, api, ov)
	if err != nil {
		return Interface{}, err
	}
	_, known := catalogue.Lookup(vendorName, api)
	return Interface{Entry: e, Catalogued: known, DocumentID: docID}, nil
}

// WindowParams are the business parameters of a window when the input has
// no `params` mapping: the interface's window fields with the bounds in its
// layout (China time).
func (i Interface) WindowParams(start, end time.Time) map[string]any {
	w := i.Window
	if w == nil {
		return map[string]any{}
	}
	f := func(t time.Time) any {
		if w.Layout == "unix" {
			return t.Unix()
		}
		return t.In(shanghai).Format(w.LayoutOrDefault())
	}
	return map[string]any{w.Start: f(start), w.End: f(end)}
}

// applyDocumentID replaces the ids of p's documents by the interface's
// document_id mapping.
func applyDocumentID(exec *bloblang.Executor, vendorName, api string, p *vendor.Page) error {
	for i := range p.Docs {
		d := &p.Docs[i]
		msg := service.NewMessage(d.Raw)
		res, err := msg.BloblangQuery(exec)
		var id string
		if err == nil && res != nil {
			var b []byte
			if b, err = res.AsBytes(); err == nil {
				id = strings.TrimSpace(string(b))
			}
		}
		if err != nil || id == "" {
			why := "gave an empty id"
			if err != nil {
				why = err.Error()
			}
			return &vendor.Error{Vendor: vendorName, Interface: api, Kind: vendor.Permanent,
				Msg: fmt.Sprintf("interface.document_id of document %s: %s", vendor.Snippet(d.Raw), why)}
		}
		d.ID = id
	}
	return nil
}
