package k3cloud

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// The FilterString dialect: comparisons (=, <>, !=, >=, <=, >, <), IN and
// NOT IN lists, LIKE with % and _, IS [NOT] NULL, BETWEEN .. AND .., NOT,
// AND, OR and parentheses; strings in single quotes with '' as an escaped
// quote (N'..' accepted), bare numbers. Keywords are case-insensitive.
// Anything else (functions, sub-queries) is a bad filter (MsgCode 4).

const (
	condAnd = iota
	condOr
	condNot
	condCmp
	condIn
	condLike
	condNull
	condBetween
	condConst
)

type cond struct {
	kind  int
	kids  []*cond
	field string
	op    string
	vals  []any // string or json.Number literals
	not   bool  // NOT IN, NOT LIKE, IS NOT NULL, NOT BETWEEN
	value bool  // condConst
	g     getter
}

type token struct {
	kind byte // 'i' ident, 's' string, 'n' number, 'o' operator, '(' ')' ','
	text string
}

func tokenize(s string) ([]token, error) {
	var out []token
	rs := []rune(s)
	for i := 0; i < len(rs); {
		c := rs[i]
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '(' || c == ')' || c == ',':
			out = append(out, token{kind: byte(c), text: string(c)})
			i++
		case c == '<' || c == '>' || c == '=' || c == '!':
			op := string(c)
			if i+1 < len(rs) && (rs[i+1] == '=' || (c == '<' && rs[i+1] == '>')) {
				op += string(rs[i+1])
			}
			if op == "!" {
				return nil, fmt.Errorf("位置%d附近有语法错误", i)
			}
			out = append(out, token{kind: 'o', text: op})
			i += len([]rune(op))
		case c == '\'' || ((c == 'N' || c == 'n') && i+1 < len(rs) && rs[i+1] == '\'' && (i == 0 || !isIdent(rs[i-1]))):
			if c != '\'' {
				i++
			}
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(rs) {
					return nil, errors.New("字符串缺少结束引号")
				}
				if rs[j] == '\'' {
					if j+1 < len(rs) && rs[j+1] == '\'' {
						b.WriteRune('\'')
						j += 2
						continue
					}
					break
				}
				b.WriteRune(rs[j])
				j++
			}
			out = append(out, token{kind: 's', text: b.String()})
			i = j + 1
		case unicode.IsDigit(c) || (c == '-' && i+1 < len(rs) && unicode.IsDigit(rs[i+1]) && (len(out) == 0 || out[len(out)-1].kind != 'i' && out[len(out)-1].kind != 'n' && out[len(out)-1].kind != 's')):
			j := i + 1
			for j < len(rs) && (unicode.IsDigit(rs[j]) || rs[j] == '.') {
				j++
			}
			out = append(out, token{kind: 'n', text: string(rs[i:j])})
			i = j
		case isIdent(c):
			j := i
			for j < len(rs) && (isIdent(rs[j]) || unicode.IsDigit(rs[j]) || rs[j] == '.') {
				j++
			}
			out = append(out, token{kind: 'i', text: string(rs[i:j])})
			i = j
		default:
			return nil, fmt.Errorf("位置%d附近有语法错误：“%c”", i, c)
		}
	}
	return out, nil
}

func isIdent(r rune) bool { return r == '_' || (r < 128 && unicode.IsLetter(r)) }

type parser struct {
	toks []token
	pos  int
}

// parseFilter parses a FilterString into a condition tree.
func parseFilter(s string) (*cond, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	c, err := p.expr()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, fmt.Errorf("“%s”附近有语法错误", p.toks[p.pos].text)
	}
	return c, nil
}

func (p *parser) peek() (token, bool) {
	if p.pos >= len(p.toks) {
		return token{}, false
	}
	return p.toks[p.pos], true
}

func (p *parser) keyword(kw string) bool {
	t, ok := p.peek()
	if ok && t.kind == 'i' && strings.EqualFold(t.text, kw) {
		p.pos++
		return true
	}
	return false
}

func (p *parser) expect(kind byte) (token, error) {
	t, ok := p.peek()
	if !ok {
		return t, errors.New("过滤条件不完整")
	}
	if t.kind != kind {
		return t, fmt.Errorf("“%s”附近有语法错误", t.text)
	}
	p.pos++
	return t, nil
}

func (p *parser) expr() (*cond, error) {
	c, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.keyword("OR") {
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		c = &cond{kind: condOr, kids: []*cond{c, r}}
	}
	return c, nil
}

func (p *parser) and() (*cond, error) {
	c, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.keyword("AND") {
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		c = &cond{kind: condAnd, kids: []*cond{c, r}}
	}
	return c, nil
}

func (p *parser) unary() (*cond, error) {
	if p.keyword("NOT") {
		c, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &cond{kind: condNot, kids: []*cond{c}}, nil
	}
	if t, ok := p.peek(); ok && t.kind == '(' {
		p.pos++
		c, err := p.expr()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(')'); err != nil {
			return nil, err
		}
		return c, nil
	}
	return p.predicate()
}

func (p *parser) literal() (any, error) {
	t, ok := p.peek()
	if !ok {
		return nil, errors.New("过滤条件不完整")
	}
	switch t.kind {
	case 's':
		p.pos++
		return t.text, nil
	case 'n':
		p.pos++
		return json.Number(t.text), nil
	}
	return nil, fmt.Errorf("“%s”附近有语法错误，应为常量", t.text)
}

// mirror gives the operator with its operands swapped ('5' < F is F > '5').
var mirror = map[string]string{"=": "=", "<>": "<>", ">=": "<=", "<=": ">=", ">": "<", "<": ">"}

// normOp writes != as <>.
func normOp(op string) string {
	if op == "!=" {
		return "<>"
	}
	return op
}

func (p *parser) predicate() (*cond, error) {
	t, ok := p.peek()
	if !ok {
		return nil, errors.New("过滤条件不完整")
	}
	if t.kind == 's' || t.kind == 'n' {
		// literal op literal ("1=1") or literal op field
		left, _ := p.literal()
		op, err := p.expect('o')
		if err != nil {
			return nil, err
		}
		if r, ok := p.peek(); ok && r.kind == 'i' {
			p.pos++
			if n, ok := p.peek(); ok && n.kind == '(' {
				return nil, fmt.Errorf("不支持函数“%s”", r.text)
			}
			return &cond{kind: condCmp, field: r.text, op: mirror[normOp(op.text)], vals: []any{left}}, nil
		}
		right, err := p.literal()
		if err != nil {
			return nil, err
		}
		return &cond{kind: condConst, value: cmpOp(compareValues(left, right), normOp(op.text))}, nil
	}
	field, err := p.expect('i')
	if err != nil {
		return nil, err
	}
	if n, ok := p.peek(); ok && n.kind == '(' {
		return nil, fmt.Errorf("不支持函数“%s”", field.text)
	}
	c := &cond{field: field.text}
	if p.keyword("IS") {
		c.kind, c.not = condNull, p.keyword("NOT")
		if !p.keyword("NULL") {
			return nil, errors.New("IS 后应为 NULL")
		}
		return c, nil
	}
	c.not = p.keyword("NOT")
	switch {
	case p.keyword("IN"):
		c.kind = condIn
		if _, err := p.expect('('); err != nil {
			return nil, err
		}
		for {
			v, err := p.literal()
			if err != nil {
				return nil, err
			}
			c.vals = append(c.vals, v)
			if t, ok := p.peek(); ok && t.kind == ',' {
				p.pos++
				continue
			}
			break
		}
		if _, err := p.expect(')'); err != nil {
			return nil, err
		}
		return c, nil
	case p.keyword("LIKE"):
		c.kind = condLike
		v, err := p.literal()
		if err != nil {
			return nil, err
		}
		c.vals = []any{v}
		return c, nil
	case p.keyword("BETWEEN"):
		c.kind = condBetween
		lo, err := p.literal()
		if err != nil {
			return nil, err
		}
		if !p.keyword("AND") {
			return nil, errors.New("BETWEEN 缺少 AND")
		}
		hi, err := p.literal()
		if err != nil {
			return nil, err
		}
		c.vals = []any{lo, hi}
		return c, nil
	}
	if c.not {
		return nil, fmt.Errorf("“%s”附近有语法错误", field.text)
	}
	op, err := p.expect('o')
	if err != nil {
		return nil, err
	}
	v, err := p.literal()
	if err != nil {
		return nil, err
	}
	c.kind, c.op, c.vals = condCmp, normOp(op.text), []any{v}
	return c, nil
}

// compile binds every field of the tree to an accessor; an unknown field
// is a bad filter, as the database rejects an unknown column.
func (s *Sim) compile(st *store, c *cond, perEntry *bool) error {
	for _, k := range c.kids {
		if err := s.compile(st, k, perEntry); err != nil {
			return err
		}
	}
	if c.field == "" {
		return nil
	}
	g, err := s.accessor(st, c.field)
	if err != nil {
		return fmt.Errorf("列名“%s”无效", c.field)
	}
	c.g = g
	*perEntry = *perEntry || g.entry
	return nil
}

func cmpOp(c int, op string) bool {
	switch op {
	case "=":
		return c == 0
	case "<>":
		return c != 0
	case ">=":
		return c >= 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	case "<":
		return c < 0
	}
	return false
}

func (c *cond) eval(rc rowCtx) bool {
	switch c.kind {
	case condConst:
		return c.value
	case condAnd:
		return c.kids[0].eval(rc) && c.kids[1].eval(rc)
	case condOr:
		return c.kids[0].eval(rc) || c.kids[1].eval(rc)
	case condNot:
		return !c.kids[0].eval(rc)
	}
	v := c.g.get(rc)
	if c.kind == condNull {
		null := v == nil || (isEmpty(v) && !isRefMap(v))
		return null != c.not
	}
	if v == nil {
		return false // SQL: NULL compares as unknown
	}
	switch c.kind {
	case condCmp:
		return cmpOp(compareValues(v, c.vals[0]), c.op)
	case condIn:
		for _, x := range c.vals {
			if compareValues(v, x) == 0 {
				return !c.not
			}
		}
		return c.not
	case condLike:
		return like(fold(scalarString(v)), fold(scalarString(c.vals[0]))) != c.not
	case condBetween:
		in := compareValues(v, c.vals[0]) >= 0 && compareValues(v, c.vals[1]) <= 0
		return in != c.not
	}
	return false
}

func isRefMap(v any) bool { _, ok := v.(map[string]any); return ok }

// like matches SQL LIKE patterns (% any run, _ one character).
func like(s, pat string) bool {
	sr, pr := []rune(s), []rune(pat)
	var match func(i, j int) bool
	memo := map[[2]int]bool{}
	match = func(i, j int) bool {
		if j == len(pr) {
			return i == len(sr)
		}
		k := [2]int{i, j}
		if v, ok := memo[k]; ok {
			return v
		}
		var r bool
		switch pr[j] {
		case '%':
			r = match(i, j+1) || (i < len(sr) && match(i+1, j))
		case '_':
			r = i < len(sr) && match(i+1, j+1)
		default:
			r = i < len(sr) && sr[i] == pr[j] && match(i+1, j+1)
		}
		memo[k] = r
		return r
	}
	return match(0, 0)
}
