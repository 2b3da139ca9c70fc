package basicauth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"strconv"
	"strings"
	"time"

	"github.com/moongate/moongate/core/config"
	"github.com/moongate/moongate/core/consumer"
	"github.com/moongate/moongate/core/ttlmap"
	"golang.org/x/crypto/bcrypt"
)

// passwords are the consumers' [[consumers]] basic_auth: username and
// password pairs, usernames unique across consumers.
var passwords = consumer.RegisterCredential("basic_auth", newPasswordIndex)

// Credential is one basic-auth username and password.
type Credential struct {
	// Username is unique across consumers. Required.
	Username string `toml:"username"`
	// Password is a bcrypt hash ("$2b$..."; recommended, e.g. from
	// `htpasswd -nbBC 10 user pass`) or the password itself, then held in
	// memory as SHA-256 only. Required.
	Password config.Secret `toml:"password"`
}

// passwordIndex checks usernames and passwords. Plain passwords are held
// as SHA-256 and compared in constant time; bcrypt hashes are checked
// once and the success remembered for a few minutes (keyed by an HMAC of
// both under a random key of the index), so that a client sending the
// same header on every request pays for bcrypt once.
type passwordIndex struct {
	byUser map[string]*basicCred
	first  map[string]string // where each username was given
	// Positive bcrypt results, keyed by an HMAC of user and password
	// under a key of this index: a correct password is checked by bcrypt
	// once, not on every request.
	key       [32]byte
	seen      *ttlmap.Map[*consumer.Consumer]
	minCost   int    // the cheapest bcrypt hash's cost, 0 without any
	dummyHash []byte // bcrypt hash checked for unknown users, so timing does not tell users apart
}

type basicCred struct {
	consumer *consumer.Consumer
	bcrypt   []byte   // bcrypt hash, or nil
	sum      [32]byte // SHA-256 of a plain password
}

// seenSize bounds the remembered correct bcrypt passwords.
const seenSize = 4096

// seenTTL is how long a checked password is remembered.
const seenTTL = 5 * time.Minute

func newPasswordIndex() *passwordIndex {
	x := &passwordIndex{byUser: map[string]*basicCred{}, first: map[string]string{}, seen: ttlmap.New[*consumer.Consumer](seenSize)}
	if _, err := rand.Read(x.key[:]); err != nil {
		panic("basic-auth: no randomness: " + err.Error())
	}
	return x
}

// Add implements consumer.Index.
func (x *passwordIndex) Add(owner *consumer.Owner, t config.Table) error {
	var v struct {
		Credentials []Credential `toml:"basic_auth"`
	}
	// What could be decoded is checked too: every problem at once.
	problems := config.AsProblemsOrNil(t.Decode(&v))
	add := func(err error) { problems = append(problems, config.AsProblems(err)...) }
	for j := range v.Credentials {
		b := &v.Credentials[j]
		bp := "basic_auth[" + strconv.Itoa(j) + "]"
		switch {
		case b.Username == "":
			add(t.Problem(bp+".username", "is required"))
		case strings.ContainsAny(b.Username, ":") || !config.IsVisibleASCII(b.Username):
			add(t.Problem(bp+".username", "must be printable ASCII without spaces or ':', got "+strconv.Quote(b.Username)))
		case x.first[b.Username] != "":
			add(t.Problem(bp+".username", "duplicate username "+strconv.Quote(b.Username)+" (first at "+x.first[b.Username]+")"))
		default:
			x.first[b.Username] = t.Path() + "." + bp
		}
		if err := consumer.CheckSecret(t, bp+".password", b.Password); err != nil {
			add(err)
		}
	}
	// Then the hashes, as the checks above would not see them.
	for j := range v.Credentials {
		b := &v.Credentials[j]
		bp := "basic_auth[" + strconv.Itoa(j) + "]"
		bc := &basicCred{consumer: owner.Consumer(owner.Name + ":basic-auth:" + b.Username)}
		pw := b.Password.Value()
		if strings.HasPrefix(pw, "$2a$") || strings.HasPrefix(pw, "$2b$") || strings.HasPrefix(pw, "$2y$") {
			cost, err := bcrypt.Cost([]byte(pw))
			if err != nil {
				add(t.Problem(bp+".password", "is not a valid bcrypt hash"))
				continue
			}
			if x.minCost == 0 || cost < x.minCost {
				x.minCost = cost
			}
			bc.bcrypt = []byte(pw)
		} else {
			bc.sum = sha256.Sum256([]byte(pw))
		}
		x.byUser[b.Username] = bc
	}
	if len(problems) > 0 {
		return problems
	}
	return nil
}

// Finish implements consumer.Finisher: the dummy hash unknown users are
// checked against costs what the cheapest configured hash costs.
func (x *passwordIndex) Finish() error {
	if x.minCost == 0 { // no password is a bcrypt hash
		return nil
	}
	h, err := bcrypt.GenerateFromPassword([]byte("moongate dummy password"), x.minCost)
	if err != nil {
		return err
	}
	x.dummyHash = h
	return nil
}

// check checks a username and password and returns their consumer, or
// nil.
func (x *passwordIndex) check(user, pass []byte) *consumer.Consumer {
	bc := x.byUser[string(user)]
	if bc == nil {
		if x.dummyHash != nil {
			bcrypt.CompareHashAndPassword(x.dummyHash, pass) //nolint:errcheck // timing only
		}
		return nil
	}
	if bc.bcrypt == nil {
		sum := sha256.Sum256(pass)
		if subtle.ConstantTimeCompare(sum[:], bc.sum[:]) == 1 {
			return bc.consumer
		}
		return nil
	}
	mac := hmac.New(sha256.New, x.key[:])
	mac.Write(user)
	mac.Write([]byte{0})
	mac.Write(pass)
	var buf [32]byte
	id := mac.Sum(buf[:0])
	now := time.Now()
	if c, ok := x.seen.Get(id, now); ok && c == bc.consumer {
		return c
	}
	if bcrypt.CompareHashAndPassword(bc.bcrypt, pass) != nil {
		return nil
	}
	x.seen.Set(id, bc.consumer, now.Add(seenTTL))
	return bc.consumer
}
