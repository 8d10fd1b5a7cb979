//! Hash maps and sets with foldhash instead of the standard SipHash. The
//! statement path looks up prepared statements, backend statement handles
//! and idle connections several times per statement, and merges hash every
//! group and distinct key: SipHash cost about 1,300 instructions per point
//! select. foldhash seeds each map at random, so keys a client chooses
//! cannot be aimed at collisions in another's map.

pub type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
pub type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;
