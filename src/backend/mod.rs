//! shardgate's own MySQL client side: the only code that opens sockets to
//! backends. A [`Connection`] speaks the protocol on mysql_common's packet
//! codec and packet types, like the front end; [`response`] reads what a
//! backend answers without decoding rows unless asked to; [`pool`] lends
//! connections per statement under each endpoint's `pool_max`; a
//! [`DataSource`] is one replication group of endpoints, whose health,
//! roles and lag the [`monitor`] keeps up to date.

pub mod auth;
pub mod conn;
pub mod endpoint;
pub mod group;
pub mod gtid;
pub mod health;
pub mod monitor;
pub mod pool;
pub mod response;
mod socket;
pub mod statements;
pub mod tls;
pub mod topology;

pub use conn::Connection;
pub use endpoint::Endpoint;
pub use group::DataSource;
pub use pool::{EndpointPool, PooledConn};
pub use response::{Frame, OkSummary};
pub use tls::{BackendTls, TlsMode};
