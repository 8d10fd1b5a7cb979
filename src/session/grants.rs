//! `SHOW GRANTS`: the proxy user's privileges on its schemas, printed as
//! MySQL prints grants. The backend account's grants are never shown.

use super::local::{text, text_column, LocalResult};
use crate::config::{Privileges, User};
use crate::error::Error;

/// What each rule-file privilege grants, in MySQL's words.
const GRANTED: [(Privileges, &str); 5] = [
    (Privileges::SELECT, "SELECT"),
    (Privileges::INSERT, "INSERT"),
    (Privileges::UPDATE, "UPDATE"),
    (Privileges::DELETE, "DELETE"),
    (
        Privileges::DDL,
        "CREATE, DROP, INDEX, ALTER, CREATE TEMPORARY TABLES, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, TRIGGER",
    ),
];

/// `SHOW GRANTS [FOR account]`: only the session's own account may be
/// named (as MySQL refuses others to a user without access to `mysql`).
pub fn show_grants(user: &User, host: &str, for_user: Option<&str>) -> Result<LocalResult, Error> {
    if let Some(account) = for_user {
        let name = account
            .split('@')
            .next()
            .unwrap_or("")
            .trim_matches(['\'', '`', '"']);
        let own = account.eq_ignore_ascii_case("CURRENT_USER")
            || account.eq_ignore_ascii_case("CURRENT_USER()")
            || name == user.name;
        if !own {
            return Err(Error::database_denied(&user.name, host, "mysql"));
        }
    }
    let account = format!("`{}`@`%`", user.name.replace('`', "``"));
    let mut rows = vec![vec![text(&format!("GRANT USAGE ON *.* TO {account}"))]];
    let granted = if user.privileges == Privileges::ALL {
        "ALL PRIVILEGES".to_string()
    } else {
        GRANTED
            .iter()
            .filter(|(p, _)| user.privileges.contains(*p))
            .map(|(_, words)| *words)
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !granted.is_empty() {
        for schema in &user.schemas {
            rows.push(vec![text(&format!(
                "GRANT {granted} ON `{}`.* TO {account}",
                schema.replace('`', "``")
            ))]);
        }
    }
    Ok(LocalResult {
        columns: vec![text_column(&format!("Grants for {}@%", user.name))],
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(privileges: Privileges) -> User {
        User {
            name: "report".into(),
            password_sha1: Some([0; 20]),
            password_sha2: None,
            schemas: vec!["shop".into()],
            admin: false,
            privileges,
        }
    }

    #[test]
    fn grants_read_as_mysql_prints_them() {
        let r = show_grants(&user(Privileges::SELECT), "h", None).unwrap();
        assert_eq!(
            r.rows[1],
            vec![text("GRANT SELECT ON `shop`.* TO `report`@`%`")]
        );
        let r = show_grants(&user(Privileges::ALL), "h", Some("CURRENT_USER")).unwrap();
        assert_eq!(
            r.rows[1],
            vec![text("GRANT ALL PRIVILEGES ON `shop`.* TO `report`@`%`")]
        );
        let e = show_grants(&user(Privileges::ALL), "h", Some("root@'%'")).unwrap_err();
        assert_eq!(e.code, 1044);
    }
}
