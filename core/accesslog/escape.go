package accesslog

import (
	"net/netip"
	"time"
)

// nginxEscaped marks the bytes nginx's default log escaping writes as
// \xHH: control characters, '"', '\\', and every byte from 0x7f.
var nginxEscaped = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c < 0x20 || c == '"' || c == '\\' || c >= 0x7f
	}
	return t
}()

const upperHex = "0123456789ABCDEF"

// appendNginx appends s with nginx's default access-log escaping: '"',
// '\\', control characters and bytes from 0x7f become \xHH (upper-case
// hex, as nginx writes them).
func appendNginx(dst, s []byte) []byte {
	start := 0
	for i, c := range s {
		if !nginxEscaped[c] {
			continue
		}
		dst = append(dst, s[start:i]...)
		dst = append(dst, '\\', 'x', upperHex[c>>4], upperHex[c&0xf])
		start = i + 1
	}
	return append(dst, s[start:]...)
}

// appendNginxString is appendNginx for a string.
func appendNginxString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if nginxEscaped[c] {
			dst = append(dst, '\\', 'x', upperHex[c>>4], upperHex[c&0xf])
		} else {
			dst = append(dst, c)
		}
	}
	return dst
}

// appendAddr appends a client address, IPv4-mapped addresses as IPv4. A
// zone (which an X-Forwarded-For line can carry, any bytes) is escaped
// with esc.
func appendAddr(dst []byte, a netip.Addr, esc func([]byte, string) []byte) []byte {
	a = a.Unmap()
	zone := a.Zone()
	if zone == "" {
		return a.AppendTo(dst)
	}
	dst = a.WithZone("").AppendTo(dst)
	dst = append(dst, '%')
	return esc(dst, zone)
}

// appendUint appends n in decimal.
func appendUint(dst []byte, n uint64) []byte {
	var b [20]byte
	i := len(b)
	for n >= 10 {
		i--
		q := n / 10
		b[i] = byte('0' + n - q*10)
		n = q
	}
	i--
	b[i] = byte('0' + n)
	return append(dst, b[i:]...)
}

// appendInt appends n in decimal.
func appendInt(dst []byte, n int64) []byte {
	if n < 0 {
		dst = append(dst, '-')
		return appendUint(dst, uint64(-n))
	}
	return appendUint(dst, uint64(n))
}

// appendStatus appends a status code as three digits, 0 as "000" (nginx).
func appendStatus(dst []byte, s int) []byte {
	if s >= 0 && s < 1000 {
		return append(dst, byte('0'+s/100), byte('0'+s/10%10), byte('0'+s%10))
	}
	return appendInt(dst, int64(s))
}

// appendSeconds appends d in seconds with microsecond resolution
// ("0.001234"); a negative d is written as 0.
func appendSeconds(dst []byte, d time.Duration) []byte {
	if d < 0 {
		d = 0
	}
	us := uint64(d / time.Microsecond)
	dst = appendUint(dst, us/1e6)
	return appendFrac(dst, us%1e6, 6)
}

// appendFrac appends '.' and n as exactly digits digits.
func appendFrac(dst []byte, n uint64, digits int) []byte {
	var b [10]byte
	for i := digits - 1; i >= 0; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	dst = append(dst, '.')
	return append(dst, b[:digits]...)
}

func append2(dst []byte, n int) []byte {
	return append(dst, byte('0'+n/10), byte('0'+n%10))
}

func append4(dst []byte, n int) []byte {
	if n < 0 || n > 9999 {
		return appendInt(dst, int64(n))
	}
	return append(dst, byte('0'+n/1000), byte('0'+n/100%10), byte('0'+n/10%10), byte('0'+n%10))
}

// appendOffset appends the zone offset of t as "+hh:mm" (colon true) or
// "+hhmm", or "Z" when z is true and the offset is zero.
func appendOffset(dst []byte, t time.Time, colon, z bool) []byte {
	_, off := t.Zone()
	if off == 0 && z {
		return append(dst, 'Z')
	}
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	off /= 60
	dst = append(dst, sign)
	dst = append2(dst, off/60)
	if colon {
		dst = append(dst, ':')
	}
	return append2(dst, off%60)
}

// appendRFC3339Millis appends t as "2006-01-02T15:04:05.000Z07:00".
func appendRFC3339Millis(dst []byte, t time.Time) []byte {
	dst = appendISODateTime(dst, t)
	dst = appendFrac(dst, uint64(t.Nanosecond()/1e6), 3)
	return appendOffset(dst, t, true, true)
}

// appendISO8601 appends t as nginx's $time_iso8601:
// "2006-01-02T15:04:05+07:00" (seconds, and an offset even in UTC).
func appendISO8601(dst []byte, t time.Time) []byte {
	dst = appendISODateTime(dst, t)
	return appendOffset(dst, t, true, false)
}

func appendISODateTime(dst []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	dst = append4(dst, y)
	dst = append(dst, '-')
	dst = append2(dst, int(mo))
	dst = append(dst, '-')
	dst = append2(dst, d)
	dst = append(dst, 'T')
	dst = append2(dst, h)
	dst = append(dst, ':')
	dst = append2(dst, mi)
	dst = append(dst, ':')
	return append2(dst, s)
}

const monthNames = "JanFebMarAprMayJunJulAugSepOctNovDec"

// appendTimeLocal appends t as the Common Log Format's time (nginx's
// $time_local): "02/Jan/2006:15:04:05 -0700".
func appendTimeLocal(dst []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	dst = append2(dst, d)
	dst = append(dst, '/')
	dst = append(dst, monthNames[3*(mo-1):3*mo]...)
	dst = append(dst, '/')
	dst = append4(dst, y)
	dst = append(dst, ':')
	dst = append2(dst, h)
	dst = append(dst, ':')
	dst = append2(dst, mi)
	dst = append(dst, ':')
	dst = append2(dst, s)
	dst = append(dst, ' ')
	return appendOffset(dst, t, false, false)
}

// appendMsec appends t as Unix seconds with millisecond resolution
// (nginx's $msec).
func appendMsec(dst []byte, t time.Time) []byte {
	ms := t.UnixMilli()
	if ms < 0 {
		ms = 0
	}
	dst = appendUint(dst, uint64(ms)/1000)
	return appendFrac(dst, uint64(ms)%1000, 3)
}
