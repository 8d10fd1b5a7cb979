//! Where a backend is and how to log in to it: a `mysql://user:pass@host:port/db`
//! URL of the rule file, parsed once.

use super::tls::BackendTls;
use std::fmt;

/// One backend server and the account the proxy uses on it.
#[derive(Clone)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    /// The backend database statements run in (the URL's path).
    pub database: String,
    /// TLS settings of the data source; a URL alone means plain TCP.
    pub tls: BackendTls,
}

impl fmt::Debug for Endpoint {
    // Never the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.address())
    }
}

impl Endpoint {
    /// Parses a `mysql://` URL; the message says what is wrong.
    pub fn parse(url: &str) -> Result<Endpoint, String> {
        let parsed = url::Url::parse(url).map_err(|e| e.to_string())?;
        if parsed.scheme() != "mysql" {
            return Err(format!("the scheme is '{}', not 'mysql'", parsed.scheme()));
        }
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("no host")?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|_| "the user or password is not valid UTF-8 once decoded".to_string())
        };
        let user = decode(parsed.username())?;
        if user.is_empty() {
            return Err("no user".into());
        }
        let password = decode(parsed.password().unwrap_or(""))?;
        let database = decode(parsed.path().trim_start_matches('/'))?;
        if database.contains('/') {
            return Err(format!("'{database}' is not one database name"));
        }
        Ok(Endpoint {
            host,
            port: parsed.port().unwrap_or(3306),
            user,
            password,
            database,
            tls: BackendTls::disabled(),
        })
    }

    /// `host:port/db`, for messages and SHOW BACKENDS.
    pub fn address(&self) -> String {
        format!("{}:{}/{}", self.host, self.port, self.database)
    }

    /// The same server and account in no database: for the proxy's own
    /// statements that need none, which the process list then tells from
    /// the pool's connections (those always have one).
    pub fn without_database(&self) -> Endpoint {
        Endpoint {
            database: String::new(),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_rule_file_form() {
        let e = Endpoint::parse("mysql://root:s%40cret@10.0.0.10:3307/shop_0").unwrap();
        assert_eq!(
            (
                e.host.as_str(),
                e.port,
                e.user.as_str(),
                e.password.as_str()
            ),
            ("10.0.0.10", 3307, "root", "s@cret")
        );
        assert_eq!(e.database, "shop_0");
        assert_eq!(format!("{e:?}"), "10.0.0.10:3307/shop_0");
        let e = Endpoint::parse("mysql://app@db/x").unwrap();
        assert_eq!((e.port, e.password.as_str()), (3306, ""));
    }

    #[test]
    fn refuses_what_is_not_a_mysql_url() {
        for bad in [
            "postgres://a@b/c",
            "mysql://host/db",
            "not a url",
            "mysql://a@/db",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }
}
