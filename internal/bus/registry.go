package bus

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

// Registry is the list of NATS users the site has issued credentials to,
// which enroll keeps as a JSON file in its data folder: each identity with
// its public keys and when they were issued. The server's users are made
// from it (Users, ServerConfig); the seeds are never stored, only handed
// out once in the credentials file.
//
// An identity may hold several keys at once, so credentials can be rotated
// without a gap: issue new ones, install them, then revoke the old key.
// Registry methods are safe for use by several processes at once (the
// running enroll and `enroll credentials` on the command line).
type Registry struct {
	path string
}

// UserKey is one issued key.
type UserKey struct {
	Identity
	// Key is the public user nkey (U…).
	Key    string    `json:"key"`
	Issued time.Time `json:"issued"`
}

type registryFile struct {
	Users []UserKey `json:"users"`
}

// OpenRegistry returns the registry kept at path; the file is created by
// the first Issue.
func OpenRegistry(path string) *Registry { return &Registry{path: path} }

// Path is where the registry is kept.
func (r *Registry) Path() string { return r.path }

// Keys returns every issued key, oldest first; none when the file does not
// exist yet.
func (r *Registry) Keys() ([]UserKey, error) {
	data, err := os.ReadFile(r.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("bus: registry: %w", err)
	}
	var f registryFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("bus: registry %s: %w", r.path, err)
	}
	return f.Users, nil
}

// Issue makes a new key for id, records it and returns it with the
// credentials file that holds its seed. Keys id already had stay valid.
func (r *Registry) Issue(id Identity, now time.Time) (UserKey, []byte, error) {
	if err := id.Validate(); err != nil {
		return UserKey{}, nil, err
	}
	public, seed, err := NewUserKey()
	if err != nil {
		return UserKey{}, nil, err
	}
	defer clear(seed)
	k := UserKey{Identity: id, Key: public, Issued: now.UTC().Truncate(time.Second)}
	err = r.update(func(keys []UserKey) ([]UserKey, error) { return append(keys, k), nil })
	if err != nil {
		return UserKey{}, nil, err
	}
	var creds bytes.Buffer
	if err := WriteCredentials(&creds, id, public, seed, k.Issued); err != nil {
		return UserKey{}, nil, err
	}
	return k, creds.Bytes(), nil
}

// Revoke removes every key for which match is true and returns them.
func (r *Registry) Revoke(match func(UserKey) bool) ([]UserKey, error) {
	var gone []UserKey
	err := r.update(func(keys []UserKey) ([]UserKey, error) {
		return slices.DeleteFunc(keys, func(k UserKey) bool {
			if match(k) {
				gone = append(gone, k)
				return true
			}
			return false
		}), nil
	})
	return gone, err
}

// Users returns the NATS users of the issued keys, each with its identity's
// permissions.
func (r *Registry) Users() ([]User, error) {
	keys, err := r.Keys()
	if err != nil {
		return nil, err
	}
	return UsersOf(keys), nil
}

// UsersOf returns the NATS users of keys.
func UsersOf(keys []UserKey) []User {
	users := make([]User, 0, len(keys))
	for _, k := range keys {
		users = append(users, User{Name: k.Identity.String(), Key: k.Key, Permissions: k.Identity.Permissions()})
	}
	return users
}

// update rewrites the file under an exclusive lock, atomically, so a crash
// leaves the old or the new list and never half of one.
func (r *Registry) update(change func([]UserKey) ([]UserKey, error)) error {
	dir := filepath.Dir(r.path)
	lock, err := os.OpenFile(r.path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("bus: registry lock: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("bus: registry lock: %w", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	keys, err := r.Keys()
	if err != nil {
		return err
	}
	if keys, err = change(keys); err != nil {
		return err
	}
	data, err := json.MarshalIndent(registryFile{Users: append([]UserKey{}, keys...)}, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(r.path)+".new*") // mode 0600
	if err != nil {
		return fmt.Errorf("bus: registry: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if err = errors.Join(err, tmp.Close()); err != nil {
		return fmt.Errorf("bus: registry: %w", err)
	}
	if err := os.Rename(tmp.Name(), r.path); err != nil {
		return fmt.Errorf("bus: registry: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
