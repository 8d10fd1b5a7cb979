// go-sql-driver/mysql through shardgate: TLS verified against the proxy's
// certificate, caching_sha2_password (switched to it for a user stored as
// password_sha2 only; over plain TCP too), mysql_native_password, wrong
// passwords; after the reload, 3159 for plain logins and the renewed
// certificate. Environment and users: see tests/clients/ops/test_auth_tls.py.
//
// Built by scripts/ops_clients.sh with Debian's golang-go and
// golang-github-go-sql-driver-mysql-dev (GOPATH mode, no module download).
package main

import (
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/go-sql-driver/mysql"
)

var (
	port    = os.Getenv("OPS_PORT")
	phase   = os.Getenv("OPS_PHASE")
	results []bool
)

func check(name string, fn func() error) {
	if err := fn(); err != nil {
		results = append(results, false)
		fmt.Printf("FAIL %s\n  %v\n", name, err)
		return
	}
	results = append(results, true)
	fmt.Printf("ok   %s\n", name)
}

// registerCA names a TLS configuration that trusts only the PEM file at path
// and checks the host name (the certificate names 127.0.0.1).
func registerCA(name, path string) {
	pem, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		panic("no certificate in " + path)
	}
	if err := mysql.RegisterTLSConfig(name, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}); err != nil {
		panic(err)
	}
}

func open(user, password, tlsName string) (*sql.DB, error) {
	dsn := fmt.Sprintf("%s:%s@tcp(127.0.0.1:%s)/demo?timeout=10s", user, password, port)
	if tlsName != "" {
		dsn += "&tls=" + tlsName
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

func selectOne(user, password, tlsName string) error {
	db, err := open(user, password, tlsName)
	if err != nil {
		return err
	}
	defer db.Close()
	var one int
	if err := db.QueryRow("SELECT 1").Scan(&one); err != nil {
		return err
	}
	if one != 1 {
		return fmt.Errorf("SELECT 1 gave %d", one)
	}
	return nil
}

func expectError(number uint16, user, password, tlsName string) error {
	db, err := open(user, password, tlsName)
	if err != nil {
		return err
	}
	defer db.Close()
	err = db.Ping()
	var me *mysql.MySQLError
	if errors.As(err, &me) && me.Number == number {
		return nil
	}
	return fmt.Errorf("expected error %d, got %v", number, err)
}

func main() {
	registerCA("current", os.Getenv("OPS_CA"))
	if phase == "required" {
		registerCA("old", os.Getenv("OPS_OLD_CA"))
		check("go: plain TCP refused with 3159", func() error { return expectError(3159, "app", "app_pw", "") })
		check("go: TLS verified against the renewed certificate", func() error { return selectOne("s2", "s2_pw", "current") })
		check("go: the certificate from before the renewal no longer verifies", func() error {
			err := selectOne("s2", "s2_pw", "old")
			if err == nil {
				return errors.New("the old certificate still verified")
			}
			if !strings.Contains(err.Error(), "certificate") {
				return fmt.Errorf("not a certificate error: %v", err)
			}
			return nil
		})
	} else {
		check("go: TLS, caching_sha2_password (password_sha2 only)", func() error { return selectOne("s2", "s2_pw", "current") })
		check("go: TLS, mysql_native_password (password_sha1 only)", func() error { return selectOne("s1", "s1_pw", "current") })
		check("go: plain TCP, caching_sha2_password fast path", func() error { return selectOne("s2", "s2_pw", "") })
		check("go: plain TCP, mysql_native_password", func() error { return selectOne("app", "app_pw", "") })
		check("go: wrong passwords: 1045", func() error {
			for _, c := range [][2]string{{"s2", "current"}, {"s2", ""}, {"s1", ""}} {
				if err := expectError(1045, c[0], "nope", c[1]); err != nil {
					return err
				}
			}
			return nil
		})
	}
	passed := 0
	for _, ok := range results {
		if ok {
			passed++
		}
	}
	fmt.Printf("%d passed, %d failed\n", passed, len(results)-passed)
	if passed != len(results) || len(results) == 0 {
		os.Exit(1)
	}
}
