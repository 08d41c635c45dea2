package analytics

import (
	"bufio"
	"strings"
)

// csvWriter writes RFC 4180 CSV: fields separated by commas, records ended
// by CRLF, a field quoted when it holds a comma, a double quote, CR or LF
// (or starts or ends with a space, which some readers trim), quotes inside
// doubled. Field bytes are written as they are — unlike encoding/csv with
// UseCRLF, which rewrites line breaks inside fields.
//
// With safe set, a text field that a spreadsheet would run as a formula
// (starting with =, +, -, @, tab or CR) is prefixed with a single quote, as
// OWASP advises against CSV injection: exports carry values from webhook
// bodies and headers, which anyone able to reach the receiver can shape.
// Numbers and times are written by hooklens and never altered.
type csvWriter struct {
	w    *bufio.Writer
	safe bool
}

func (c *csvWriter) field(i int, s string, text bool) {
	if i > 0 {
		c.w.WriteByte(',')
	}
	if text && c.safe && s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		s = "'" + s
	}
	if !needsQuotes(s) {
		c.w.WriteString(s)
		return
	}
	c.w.WriteByte('"')
	for {
		i := strings.IndexByte(s, '"')
		if i < 0 {
			break
		}
		c.w.WriteString(s[:i+1])
		c.w.WriteByte('"')
		s = s[i+1:]
	}
	c.w.WriteString(s)
	c.w.WriteByte('"')
}

func (c *csvWriter) end() { c.w.WriteString("\r\n") }

func needsQuotes(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == ' ' || s[len(s)-1] == ' ' {
		return true
	}
	return strings.ContainsAny(s, ",\"\r\n")
}
