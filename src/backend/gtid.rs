//! MariaDB GTID positions (`@@gtid_binlog_pos`, `@@gtid_slave_pos`,
//! `@@last_gtid`): `domain-server-sequence`, comma separated, one per
//! domain. Only the sequence per domain matters for "has this server
//! applied that": with gtid_strict_mode the sequence only grows in a domain.

use std::collections::BTreeMap;

/// A position: the last sequence number applied per replication domain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GtidPos(BTreeMap<u32, u64>);

impl GtidPos {
    /// Parses a position as the server prints it; `None` for text that is
    /// not one (an empty text is the empty position).
    pub fn parse(text: &str) -> Option<GtidPos> {
        let mut domains = BTreeMap::new();
        for gtid in text.split(',').map(str::trim).filter(|g| !g.is_empty()) {
            let mut parts = gtid.splitn(3, '-');
            let domain = parts.next()?.parse::<u32>().ok()?;
            let _server = parts.next()?.parse::<u32>().ok()?;
            let sequence = parts.next()?.parse::<u64>().ok()?;
            let slot = domains.entry(domain).or_insert(0);
            *slot = (*slot).max(sequence);
        }
        Some(GtidPos(domains))
    }

    /// Whether everything `other` names has been applied here.
    pub fn covers(&self, other: &GtidPos) -> bool {
        other
            .0
            .iter()
            .all(|(domain, seq)| self.0.get(domain).is_some_and(|mine| mine >= seq))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_compares_positions() {
        let p = |s| GtidPos::parse(s).unwrap();
        assert!(p("0-1-105").covers(&p("0-1-105")));
        assert!(
            p("0-2-106").covers(&p("0-1-105")),
            "a new server id continues the domain"
        );
        assert!(!p("0-1-104").covers(&p("0-1-105")));
        assert!(p("").covers(&p("")));
        assert!(!p("").covers(&p("0-1-1")));
        assert!(p("0-1-5,1-3-9").covers(&p("1-3-2")));
        assert!(!p("0-1-5").covers(&p("0-1-5,1-3-2")));
        assert!(p(" 0-1-5 , 1-3-9 ").covers(&p("0-1-5,1-3-9")));
        for bad in ["abc", "0-1", "0-1-x", "-1-2-3"] {
            assert_eq!(GtidPos::parse(bad), None, "{bad}");
        }
    }
}
