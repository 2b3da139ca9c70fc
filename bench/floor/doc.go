// Package floor is the bare fasthttp reverse proxy of the benchmarks: the
// least a proxy built on fasthttp can do per request (the forwarding
// headers moongate sends, one keep-alive client, nothing else). Its figure
// is the floor of what moongate's own stack costs on top of fasthttp.
package floor
