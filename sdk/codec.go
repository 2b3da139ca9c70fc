package sdk

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"time"

	lua "github.com/yuin/gopher-lua"
)

func init() {
	b64 := func(name, doc string, enc *base64.Encoding, example string) [2]*Binding {
		return [2]*Binding{
			{Name: "encode" + name, Doc: "Encodes a string in " + doc + ".",
				Params:  []Param{{"data", "string", "bytes to encode"}},
				Returns: []Param{{"text", "string", "the encoding"}},
				Example: example,
				Fn: func(s *State, L *lua.LState) int {
					data := L.CheckString(1)
					s.checkSize(L, "gw.base64.encode"+name, enc.EncodedLen(len(data)))
					s.buf = enc.AppendEncode(s.buf[:0], []byte(data))
					L.Push(lua.LString(s.buf))
					return 1
				}},
			{Name: "decode" + name, Doc: "Decodes " + doc + ".",
				Params:  []Param{{"text", "string", "the encoding"}},
				Returns: []Param{{"data", "string?", "the bytes, nil when the text is not valid"}, {"err", "string?", "why decoding failed"}},
				Example: `local raw, err = gw.base64.decode` + name + `(text)`,
				Fn: func(s *State, L *lua.LState) int {
					text := L.CheckString(1)
					s.opts.Budget.Check(L, enc.DecodedLen(len(text)))
					var err error
					s.buf, err = enc.AppendDecode(s.buf[:0], []byte(text))
					if err != nil {
						L.Push(lua.LNil)
						L.Push(lua.LString("invalid base64: " + err.Error()))
						return 2
					}
					L.Push(lua.LString(s.buf))
					return 1
				}},
		}
	}
	std := b64("", "standard base64 (RFC 4648, with padding)", base64.StdEncoding, `local basic = "Basic " .. gw.base64.encode(user .. ":" .. pass)`)
	url := b64("_url", "URL-safe base64 without padding (as in JWTs)", base64.RawURLEncoding, `local part = gw.base64.encode_url(payload)`)
	addNamespace(&Namespace{Name: "base64", Doc: "Base64 encoding and decoding."}, std[0], std[1], url[0], url[1])

	addNamespace(&Namespace{Name: "hash", Doc: "Hashes and message authentication codes, as lower-case hex strings."},
		&Binding{Name: "sha256", Doc: "Returns the SHA-256 of data, in hex.",
			Params:  []Param{{"data", "string", "bytes to hash"}},
			Returns: []Param{{"hex", "string", "64 hex digits"}},
			Example: `local id = gw.hash.sha256(api_key)`,
			Fn: func(s *State, L *lua.LState) int {
				sum := sha256.Sum256([]byte(L.CheckString(1)))
				L.Push(lua.LString(hex.EncodeToString(sum[:])))
				return 1
			}},
		&Binding{Name: "hmac_sha256", Doc: "Returns the HMAC-SHA256 of data under key, in hex.",
			Params:  []Param{{"key", "string", "the secret key"}, {"data", "string", "bytes to authenticate"}},
			Returns: []Param{{"hex", "string", "64 hex digits"}},
			Example: `local sig = gw.hash.hmac_sha256(conf.secret, gw.request.get_body())`,
			Fn: func(s *State, L *lua.LState) int {
				m := hmac.New(sha256.New, []byte(L.CheckString(1)))
				m.Write([]byte(L.CheckString(2)))
				L.Push(lua.LString(hex.EncodeToString(m.Sum(nil))))
				return 1
			}},
		&Binding{Name: "equal", Doc: "Compares two strings in constant time (for secrets, signatures, tokens).",
			Params:  []Param{{"a", "string", "first string"}, {"b", "string", "second string"}},
			Returns: []Param{{"equal", "boolean", "true when they are equal"}},
			Example: `if not gw.hash.equal(sig, gw.request.get_header("X-Signature") or "") then return gw.response.exit(401) end`,
			Fn: func(s *State, L *lua.LState) int {
				L.Push(lua.LBool(hmac.Equal([]byte(L.CheckString(1)), []byte(L.CheckString(2)))))
				return 1
			}},
	)

	addNamespace(&Namespace{Name: "time", Doc: "The wall clock."},
		&Binding{Name: "now", Doc: "Returns the current time in seconds since the Unix epoch, with fractions.",
			Returns: []Param{{"seconds", "number", "e.g. 1767225600.123"}},
			Example: `local started = gw.time.now()`,
			Fn: func(s *State, L *lua.LState) int {
				L.Push(lua.LNumber(float64(time.Now().UnixNano()) / 1e9))
				return 1
			}},
		&Binding{Name: "now_ms", Doc: "Returns the current time in whole milliseconds since the Unix epoch.",
			Returns: []Param{{"ms", "integer", "e.g. 1767225600123"}},
			Example: `gw.cache.set("seen:" .. ip, tostring(gw.time.now_ms()))`,
			Fn: func(s *State, L *lua.LState) int {
				L.Push(lua.LNumber(time.Now().UnixMilli()))
				return 1
			}},
	)
}
