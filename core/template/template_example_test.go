package template_test

import (
	"fmt"
	"regexp"

	"github.com/moongate/moongate/core/template"
)

type request struct{ host, user string }

func (r *request) Header(name string) []byte {
	if name == "x-user" {
		return []byte(r.user)
	}
	return nil
}
func (r *request) Query(string) []byte  { return nil }
func (r *request) Param(string) []byte  { return nil }
func (r *request) ConsumerName() []byte { return nil }
func (r *request) Ctx(string) []byte    { return nil }
func (r *request) Request(f template.Field) []byte {
	if f == template.FieldHost {
		return []byte(r.host)
	}
	return nil
}

func Example() {
	// At load time: the plugin's `from` regex and `to` template.
	from := regexp.MustCompile(`^/v1/(.*)$`)
	to, err := template.Compile("https://$(request.host)/api/$1?by=$(header.x-user)", template.Options{Regexp: from, Escape: template.EscapeQuery})
	if err != nil {
		panic(err)
	}
	// Per request.
	path := []byte("/v1/users/7")
	caps := template.Captures{Subject: path, Index: from.FindSubmatchIndex(path)}
	out, complete := to.Expand(nil, &request{host: "api.example.com", user: "Ann Lee"}, caps)
	fmt.Println(string(out), complete)

	_, err = template.Compile("$(headers.x-user)", template.Options{})
	fmt.Println(err)
	// Output:
	// https://api.example.com/api/users/7?by=Ann%20Lee true
	// template "$(headers.x-user)": offset 0: unknown source "headers" in $(headers.x-user) (did you mean "header"?)
}
