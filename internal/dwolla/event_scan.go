package dwolla

import (
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth is how deeply arrays and objects may nest, as in encoding/json.
const maxDepth = 10000

// scanner reads an event body in one pass: it checks the JSON syntax of the
// whole body (the grammar of RFC 8259, as encoding/json checks it) and
// notes where the members hooklens reads are, without decoding anything
// else. Syntax errors name the byte as encoding/json does: counted from the
// opening brace, 1-based.
type scanner struct {
	b     []byte // the body up to its last non-space byte
	i     int
	base  int // index of the opening brace
	depth int
	// refusal is the first duplicate or case-variant member found; it is
	// reported once the whole body is known to be valid JSON.
	refusal string
	// key holds a key that needed unescaping.
	key []byte
}

func isJSONSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

func (s *scanner) skipSpace() {
	for s.i < len(s.b) && isJSONSpace(s.b[s.i]) {
		s.i++
	}
}

// syntaxError reports the byte at s.i, or the end of the input.
func (s *scanner) syntaxError() error {
	offset := s.i - s.base + 1
	if s.i >= len(s.b) {
		offset = len(s.b) - s.base
	}
	return &ParseError{fmt.Sprintf("invalid JSON: syntax error at byte %d", offset)}
}

func (s *scanner) refuse(format string, args ...any) {
	if s.refusal == "" {
		s.refusal = fmt.Sprintf(format, args...)
	}
}

// open enters an object or array at s.i.
func (s *scanner) open() error {
	s.depth++
	if s.depth > maxDepth {
		return s.syntaxError()
	}
	s.i++
	return nil
}

// event reads the top-level object, at s.i.
func (s *scanner) event(w *wireEvent) error {
	return s.object(func(name []byte) error {
		f := lookup(name, fieldNames[:])
		if f < 0 {
			return s.skipValue()
		}
		if !w.noteMember(s, name, f) {
			return s.skipValue()
		}
		if f == fieldLinks {
			return s.links(w)
		}
		return s.member(&w.fields[f])
	})
}

// noteMember records that a member named like one hooklens reads was met,
// and reports whether it is the exact name, met for the first time.
func (w *wireEvent) noteMember(s *scanner, name []byte, f int) bool {
	if string(name) != fieldNames[f] {
		s.refuse("key %q is a case variant of %q", name, fieldNames[f])
		return false
	}
	if w.fields[f].kind != kindAbsent {
		s.refuse("duplicate key %q", name)
		return false
	}
	return true
}

// lookup returns the index of the name in names that name equals, ignoring
// case the way encoding/json does (Unicode simple folding), or -1.
func lookup(name []byte, names []string) int {
	for i, n := range names {
		if len(name) == len(n) && string(name) == n {
			return i
		}
	}
	for i, n := range names {
		// A non-ASCII letter that folds to an ASCII one takes 2 or 3 bytes.
		if len(name) < len(n) || len(name) > 3*len(n) {
			continue
		}
		if strings.EqualFold(string(name), n) {
			return i
		}
	}
	return -1
}

// object reads an object at s.i, calling member with each key (decoded)
// when s.i is at the member's value; member must consume the value.
func (s *scanner) object(member func(name []byte) error) error {
	if err := s.open(); err != nil {
		return err
	}
	s.skipSpace()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		s.depth--
		return nil
	}
	for {
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return s.syntaxError()
		}
		name, err := s.readKey()
		if err != nil {
			return err
		}
		if err := member(name); err != nil {
			return err
		}
		s.skipSpace()
		if s.i >= len(s.b) {
			return s.syntaxError()
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.skipSpace()
		case '}':
			s.i++
			s.depth--
			return nil
		default:
			return s.syntaxError()
		}
	}
}

// readKey reads a key and its colon, leaving s.i at the value.
func (s *scanner) readKey() ([]byte, error) {
	sp, err := s.str()
	if err != nil {
		return nil, err
	}
	name := s.b[sp.start:sp.end]
	if sp.escaped {
		s.key = unescape(s.key[:0], name)
		name = s.key
	}
	s.skipSpace()
	if s.i >= len(s.b) || s.b[s.i] != ':' {
		return nil, s.syntaxError()
	}
	s.i++
	s.skipSpace()
	return name, nil
}

// member reads a value hooklens may want as a string.
func (s *scanner) member(sp *span) error {
	if s.i < len(s.b) {
		switch s.b[s.i] {
		case '"':
			v, err := s.str()
			*sp = v
			return err
		case 'n':
			sp.kind = kindNull
			return s.literal("null")
		}
	}
	sp.kind = kindOther
	return s.skipValue()
}

// links reads _links: an object of links, or null.
func (s *scanner) links(w *wireEvent) error {
	sp := &w.fields[fieldLinks]
	if s.i < len(s.b) && s.b[s.i] == 'n' {
		sp.kind = kindNull
		return s.literal("null")
	}
	sp.kind = kindOther
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		w.linksBad = true
		return s.skipValue()
	}
	return s.object(func(name []byte) error {
		l := lookup(name, linkNames[:])
		var link *wireLink
		if l >= 0 {
			switch {
			case string(name) != linkNames[l]:
				s.refuse("key %q in _links is a case variant of %q", name, linkNames[l])
			case w.links[l].present:
				s.refuse("duplicate key %q in _links", name)
			default:
				link = &w.links[l]
				link.present = true
			}
		}
		return s.link(w, link)
	})
}

var linkMembers = [...]string{"href", "resource-type", "type"}

// link reads one link: an object or null. link is where to keep what
// hooklens reads from it, nil for a link it does not read.
func (s *scanner) link(w *wireEvent, link *wireLink) error {
	if s.i < len(s.b) && s.b[s.i] == 'n' {
		return s.literal("null")
	}
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		w.linksBad = true
		return s.skipValue()
	}
	return s.object(func(name []byte) error {
		m := lookup(name, linkMembers[:])
		if m < 0 {
			return s.skipValue()
		}
		var sp span
		if err := s.member(&sp); err != nil {
			return err
		}
		if sp.kind == kindOther {
			w.linksBad = true
		}
		if link == nil || m == 2 { // type: hooklens does not read it
			return nil
		}
		dst := &link.href
		if m == 1 {
			dst = &link.resourceType
		}
		switch {
		case string(name) != linkMembers[m]:
			s.refuse("key %q in a link is a case variant of %q", name, linkMembers[m])
		case dst.kind != kindAbsent:
			s.refuse("duplicate key %q in a link", name)
		default:
			*dst = sp
		}
		return nil
	})
}

// literal reads true, false or null.
func (s *scanner) literal(word string) error {
	for k := 0; k < len(word); k++ {
		if s.i >= len(s.b) || s.b[s.i] != word[k] {
			return s.syntaxError()
		}
		s.i++
	}
	return nil
}

// str reads a string at s.i, returning the span between its quotes.
func (s *scanner) str() (span, error) {
	sp := span{kind: kindString}
	s.i++
	sp.start = s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			sp.end = s.i
			s.i++
			return sp, nil
		case c == '\\':
			sp.escaped = true
			s.i++
			if s.i >= len(s.b) {
				return sp, s.syntaxError()
			}
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				s.i++
				for k := 0; k < 4; k++ {
					if s.i >= len(s.b) || !isHex(s.b[s.i]) {
						return sp, s.syntaxError()
					}
					s.i++
				}
			default:
				return sp, s.syntaxError()
			}
		case c < 0x20:
			return sp, s.syntaxError()
		default:
			s.i++
		}
	}
	return sp, s.syntaxError()
}

// number reads a number at s.i.
func (s *scanner) number() error {
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	if s.i >= len(s.b) {
		return s.syntaxError()
	}
	switch c := s.b[s.i]; {
	case c == '0':
		s.i++
	case c >= '1' && c <= '9':
		s.digits()
	default:
		return s.syntaxError()
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.i >= len(s.b) || !isDigit(s.b[s.i]) {
			return s.syntaxError()
		}
		s.digits()
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.i >= len(s.b) || !isDigit(s.b[s.i]) {
			return s.syntaxError()
		}
		s.digits()
	}
	return nil
}

func (s *scanner) digits() {
	for s.i < len(s.b) && isDigit(s.b[s.i]) {
		s.i++
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// skipValue checks and passes over a value hooklens does not read, at s.i.
// It keeps its own stack of open containers rather than recursing, so a
// deeply nested body costs no goroutine stack.
func (s *scanner) skipValue() error {
	var stackBuf [32]bool // true: object, false: array
	stack := stackBuf[:0]
	for {
		// At a value.
		if s.i >= len(s.b) {
			return s.syntaxError()
		}
		switch c := s.b[s.i]; c {
		case '{', '[':
			if err := s.open(); err != nil {
				return err
			}
			s.skipSpace()
			if s.i < len(s.b) && (c == '{' && s.b[s.i] == '}' || c == '[' && s.b[s.i] == ']') {
				s.i++
				s.depth--
				break
			}
			stack = append(stack, c == '{')
			if c == '{' {
				if err := s.skipKey(); err != nil {
					return err
				}
			}
			continue
		case '"':
			if _, err := s.str(); err != nil {
				return err
			}
		case 't':
			if err := s.literal("true"); err != nil {
				return err
			}
		case 'f':
			if err := s.literal("false"); err != nil {
				return err
			}
		case 'n':
			if err := s.literal("null"); err != nil {
				return err
			}
		default:
			if err := s.number(); err != nil {
				return err
			}
		}
		// After a value: close containers until one continues.
		for {
			if len(stack) == 0 {
				return nil
			}
			s.skipSpace()
			if s.i >= len(s.b) {
				return s.syntaxError()
			}
			inObject := stack[len(stack)-1]
			c := s.b[s.i]
			if c == ',' {
				s.i++
				s.skipSpace()
				if inObject {
					if err := s.skipKey(); err != nil {
						return err
					}
				}
				break
			}
			if inObject && c == '}' || !inObject && c == ']' {
				s.i++
				s.depth--
				stack = stack[:len(stack)-1]
				continue
			}
			return s.syntaxError()
		}
	}
}

// skipKey passes over a key and its colon inside a skipped object.
func (s *scanner) skipKey() error {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return s.syntaxError()
	}
	if _, err := s.str(); err != nil {
		return err
	}
	s.skipSpace()
	if s.i >= len(s.b) || s.b[s.i] != ':' {
		return s.syntaxError()
	}
	s.i++
	s.skipSpace()
	return nil
}

// unescape appends to dst the value of the JSON string text raw (already
// checked), decoded as encoding/json decodes it: a \u escape that is half
// of a surrogate pair without its other half becomes U+FFFD.
func unescape(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		switch raw[i+1] {
		case '"', '\\', '/':
			dst = append(dst, raw[i+1])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(raw[i+2:])
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					if pair := utf16.DecodeRune(r, hex4(raw[i+2:])); pair != utf8.RuneError {
						dst = utf8.AppendRune(dst, pair)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		}
		i += 2
	}
	return dst
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		default:
			c = c - 'A' + 10
		}
		r = r<<4 | rune(c)
	}
	return r
}
