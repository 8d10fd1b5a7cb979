//! shardgate's own MySQL client side: the only code that opens sockets to
//! backends. A [`Connection`] speaks the protocol on mysql_common's packet
//! codec and packet types, like the front end; [`response`] reads what a
//! backend answers without decoding rows unless asked to; [`pool`] lends
//! connections per statement under each data source's `pool_max`.

pub mod auth;
pub mod conn;
pub mod endpoint;
pub mod pool;
pub mod response;
mod socket;
pub mod statements;
pub mod tls;

pub use conn::Connection;
pub use endpoint::Endpoint;
pub use pool::{DataSource, PooledConn};
pub use response::{Frame, OkSummary};
pub use tls::{BackendTls, TlsMode};
