//! Typed commands: parsing a request's arguments into a [`Command`], and running it.
//!
//! Each family lives in its own file with, for every command, a type that parses itself from
//! the arguments and applies itself to the store, writing its reply. The table in
//! [`spec`] gives each command's name and arity (as Redis's command table does), so arity
//! errors are uniform and COMMAND can list what we serve.
//!
//! The executor (`executor.rs`) runs one request for any caller — a connection's session,
//! EXEC, AOF replay ([`replay_aof`]) — with admission checks in one place and a typed
//! outcome.
//!
//! # Finding the code of command X
//! Look X up in [`COMMANDS`] (lower case): its parser names the family file —
//! `hash::parse` is `cmd/hash.rs`; a type such as `Set::parse` lives in the family file its
//! `pub use` line above names (`string.rs`). Its metadata for COMMAND INFO and DOCS (flags,
//! key positions, ACL categories) is in `command_table.rs`.

mod acl;
mod bits;
pub(crate) mod blocking;
pub(crate) mod busy;
mod client;
pub mod command;
mod command_table;
mod config;
mod connection;
mod debug;
mod dump;
mod error;
pub(crate) mod executor;
mod function;
mod geo;
mod hash;
mod hll;
mod info;
mod keys;
mod list;
pub(crate) mod long_double;
mod memory;
mod object;
mod observe;
mod persist;
mod pqsort;
mod pubsub;
mod repl;
mod replay;
pub(crate) mod reply;
pub(crate) mod reply_stream;
mod script;
mod server;
mod set;
mod sort;
mod stream;
mod string;
pub(crate) mod tx;
mod zset;

use bytes::Bytes;

pub use acl::AclCmd;
pub(crate) use acl::{check_request as acl_check, denied_object, record_denial, DenialRecord};
pub use bits::BitCmd;
pub(crate) use client::sync as client_sync;
pub use client::{Client, KillFilter, ListFilter, ReplyMode};
pub use command::CommandCmd;
pub(crate) use command::{checked_name, is_write, may_replicate};
pub use config::ConfigCmd;
pub use connection::{Auth, Echo, Hello, Ping, ReadOnly, Reset, Select};
pub use debug::Debug;
pub use dump::DumpCmd;
pub use error::CmdError;
pub use function::{FCall, FunctionCmd};
pub use geo::{GeoCmd, SearchKind};
pub use hash::HashCmd;
pub use hll::HllCmd;
pub use info::Info;
pub use keys::{
    CopyKey, Del, Exists, Expire, ExpireCondition, Keys, Move, Persist, RandomKey, Rename, Scan,
    Touch, Ttl, Type,
};
pub use list::ListCmd;
pub use memory::MemoryCmd;
pub use object::Object;
pub use observe::{LatencyCmd, Monitor, SlowlogCmd};
pub use persist::PersistCmd;
pub use pubsub::{PSubscribe, PUnsubscribe, PubSubCmd, Publish, Subscribe, Unsubscribe};
pub use repl::ReplCmd;
pub use replay::replay_aof;
pub use script::{sha1_hex, Eval, ScriptCmd};
pub use server::{DbSize, FlushAll, FlushDb, LastSave, Shutdown, SwapDb, Time};
pub use set::{SetCmd, SetOpKind};
pub use sort::Sort;
pub use stream::StreamCmd;
pub use string::{
    Append, Get, GetDel, GetEx, GetExExpiry, GetRange, GetSet, IncrBy, IncrByFloat, Lcs,
    LcsOptions, MGet, MSet, Set, SetCondition, SetEx, SetExpiry, SetNx, SetRange, StrLen,
};
pub use tx::{Discard, Exec, Multi, Unwatch, Watch};
pub use zset::{Aggregate, RangeBy, SetOp, SetOpOptions, ZAddFlags, ZSetCmd};

/// A parsed command, ready to run.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
#[allow(missing_docs)] // each variant is documented on its type
pub enum Command {
    Ping(Ping),
    Echo(Echo),
    Quit,
    Hello(Hello),
    Select(Select),
    Get(Get),
    Set(Set),
    SetNx(SetNx),
    SetEx(SetEx),
    GetSet(GetSet),
    GetDel(GetDel),
    GetEx(GetEx),
    MGet(MGet),
    MSet(MSet),
    IncrBy(IncrBy),
    IncrByFloat(IncrByFloat),
    Append(Append),
    StrLen(StrLen),
    GetRange(GetRange),
    SetRange(SetRange),
    Lcs(Lcs),
    Del(Del),
    Exists(Exists),
    Touch(Touch),
    Type(Type),
    Keys(Keys),
    Scan(Scan),
    RandomKey(RandomKey),
    Rename(Rename),
    Copy(CopyKey),
    Move(Move),
    Expire(Expire),
    Ttl(Ttl),
    Persist(Persist),
    Multi(Multi),
    Exec(Exec),
    Discard(Discard),
    Watch(Watch),
    Unwatch(Unwatch),
    Publish(Publish),
    Subscribe(Subscribe),
    Unsubscribe(Unsubscribe),
    PSubscribe(PSubscribe),
    PUnsubscribe(PUnsubscribe),
    PubSub(PubSubCmd),
    DbSize(DbSize),
    FlushDb(FlushDb),
    FlushAll(FlushAll),
    Config(ConfigCmd),
    Auth(Auth),
    Reset(Reset),
    ReadOnly(ReadOnly),
    Client(Client),
    Command(CommandCmd),
    Info(Info),
    Time(Time),
    LastSave(LastSave),
    SwapDb(SwapDb),
    Object(Object),
    Debug(Debug),
    Function(FunctionCmd),
    Shutdown(Shutdown),
    /// SAVE, BGSAVE, BGREWRITEAOF.
    Save(PersistCmd),
    /// The hash commands (HSET, HGET, …).
    Hash(HashCmd),
    /// The list commands (LPUSH, BLPOP, …).
    List(ListCmd),
    /// The set commands (SADD, SINTER, …).
    Sets(SetCmd),
    /// The sorted set commands (ZADD, ZRANGE, BZPOPMIN, …).
    ZSet(ZSetCmd),
    /// The bitmap commands (SETBIT, BITCOUNT, BITFIELD, …).
    Bits(BitCmd),
    /// The HyperLogLog commands (PFADD, PFCOUNT, PFMERGE, …).
    Hll(HllCmd),
    /// The scripting commands (EVAL, EVALSHA, SCRIPT, …).
    Script(ScriptCmd),
    /// The geo commands (GEOADD, GEOSEARCH, …).
    Geo(GeoCmd),
    /// SORT and SORT_RO.
    Sort(Sort),
    /// DUMP and RESTORE.
    Dump(DumpCmd),
    /// The stream commands (XADD, XRANGE, XREAD, …).
    Stream(StreamCmd),
    /// SLOWLOG.
    Slowlog(SlowlogCmd),
    /// LATENCY.
    Latency(LatencyCmd),
    /// MEMORY.
    Memory(MemoryCmd),
    /// MONITOR.
    Monitor(Monitor),
    /// ACL and its subcommands.
    Acl(AclCmd),
    /// REPLCONF, PSYNC, SYNC, WAIT, ROLE, REPLICAOF, SLAVEOF.
    Repl(ReplCmd),
}

/// How a command is called: its name and argument count, as in Redis's command table.
#[derive(Debug, Clone, Copy)]
pub struct CommandSpec {
    /// Lower-case name, as error messages quote it (`config|get` for a subcommand).
    pub name: &'static str,
    /// Argument count including the name: `n` exactly, or `-n` for at least `n`.
    pub arity: i32,
    /// True if a RESP2 connection in subscribed mode may run it.
    pub pubsub_ok: bool,
    parser: fn(&mut Args) -> Result<Command, CmdError>,
}

impl CommandSpec {
    /// True for the commands a connection in MULTI runs at once instead of queueing them
    /// (as Redis: EXEC, DISCARD, MULTI, WATCH, QUIT, RESET).
    pub fn skips_queue(&self) -> bool {
        matches!(
            self.name,
            "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
        )
    }

    /// False for the commands refused inside MULTI (`Command not allowed inside a
    /// transaction`), which also aborts the transaction.
    pub fn allowed_in_multi(&self) -> bool {
        !matches!(self.name, "shutdown" | "psync" | "sync")
    }

    /// Parses a request already matched to this spec (name and arity checked).
    pub fn parse(&self, args: Vec<Bytes>) -> Result<Command, CmdError> {
        (self.parser)(&mut Args::new(self.name, args))
    }
}

macro_rules! spec {
    ($name:literal, $arity:expr, $pubsub_ok:expr, $parse:expr) => {
        CommandSpec {
            name: $name,
            arity: $arity,
            pubsub_ok: $pubsub_ok,
            parser: $parse,
        }
    };
}

/// Every command this crate serves.
pub const COMMANDS: &[CommandSpec] = &[
    spec!("ping", -1, true, |a| Ping::parse(a).map(Command::Ping)),
    spec!("echo", 2, false, |a| Echo::parse(a).map(Command::Echo)),
    spec!("quit", -1, true, |_| Ok(Command::Quit)),
    spec!("hello", -1, false, |a| Hello::parse(a).map(Command::Hello)),
    spec!("select", 2, false, |a| Select::parse(a)
        .map(Command::Select)),
    spec!("get", 2, false, |a| Get::parse(a).map(Command::Get)),
    spec!("set", -3, false, |a| Set::parse(a).map(Command::Set)),
    spec!("setnx", 3, false, |a| SetNx::parse(a).map(Command::SetNx)),
    spec!("setex", 4, false, |a| SetEx::parse(a, false)
        .map(Command::SetEx)),
    spec!("psetex", 4, false, |a| SetEx::parse(a, true)
        .map(Command::SetEx)),
    spec!("getset", 3, false, |a| GetSet::parse(a)
        .map(Command::GetSet)),
    spec!("getdel", 2, false, |a| GetDel::parse(a)
        .map(Command::GetDel)),
    spec!("getex", -2, false, |a| GetEx::parse(a).map(Command::GetEx)),
    spec!("mget", -2, false, |a| MGet::parse(a).map(Command::MGet)),
    spec!("mset", -3, false, |a| MSet::parse(a, false)
        .map(Command::MSet)),
    spec!("msetnx", -3, false, |a| MSet::parse(a, true)
        .map(Command::MSet)),
    spec!("incr", 2, false, |a| IncrBy::parse(a, Some(1))
        .map(Command::IncrBy)),
    spec!("decr", 2, false, |a| IncrBy::parse(a, Some(-1))
        .map(Command::IncrBy)),
    spec!("incrby", 3, false, |a| IncrBy::parse(a, None)
        .map(Command::IncrBy)),
    spec!("decrby", 3, false, |a| IncrBy::parse(a, None)
        .map(Command::IncrBy)),
    spec!("incrbyfloat", 3, false, |a| IncrByFloat::parse(a)
        .map(Command::IncrByFloat)),
    spec!("append", 3, false, |a| Append::parse(a)
        .map(Command::Append)),
    spec!("strlen", 2, false, |a| StrLen::parse(a)
        .map(Command::StrLen)),
    spec!("getrange", 4, false, |a| GetRange::parse(a)
        .map(Command::GetRange)),
    // SUBSTR is GETRANGE under its pre-2.4 name (`Command::spec` reports `getrange`).
    spec!("substr", 4, false, |a| GetRange::parse(a)
        .map(Command::GetRange)),
    spec!("setrange", 4, false, |a| SetRange::parse(a)
        .map(Command::SetRange)),
    spec!("lcs", -3, false, |a| Lcs::parse(a).map(Command::Lcs)),
    spec!("del", -2, false, |a| Del::parse(a, false).map(Command::Del)),
    spec!("unlink", -2, false, |a| Del::parse(a, true)
        .map(Command::Del)),
    spec!("exists", -2, false, |a| Exists::parse(a)
        .map(Command::Exists)),
    spec!("touch", -2, false, |a| Touch::parse(a).map(Command::Touch)),
    spec!("type", 2, false, |a| Type::parse(a).map(Command::Type)),
    spec!("keys", 2, false, |a| Keys::parse(a).map(Command::Keys)),
    spec!("scan", -2, false, |a| Scan::parse(a).map(Command::Scan)),
    spec!("randomkey", 1, false, |_| Ok(Command::RandomKey(RandomKey))),
    spec!("rename", 3, false, |a| Rename::parse(a, false)
        .map(Command::Rename)),
    spec!("renamenx", 3, false, |a| Rename::parse(a, true)
        .map(Command::Rename)),
    spec!("copy", -3, false, |a| CopyKey::parse(a).map(Command::Copy)),
    spec!("move", 3, false, |a| Move::parse(a).map(Command::Move)),
    spec!("expire", -3, false, |a| Expire::parse(a, false, false)
        .map(Command::Expire)),
    spec!("pexpire", -3, false, |a| Expire::parse(a, true, false)
        .map(Command::Expire)),
    spec!("expireat", -3, false, |a| Expire::parse(a, false, true)
        .map(Command::Expire)),
    spec!("pexpireat", -3, false, |a| Expire::parse(a, true, true)
        .map(Command::Expire)),
    spec!("ttl", 2, false, |a| Ttl::parse(a, false, false)
        .map(Command::Ttl)),
    spec!("pttl", 2, false, |a| Ttl::parse(a, true, false)
        .map(Command::Ttl)),
    spec!("expiretime", 2, false, |a| Ttl::parse(a, false, true)
        .map(Command::Ttl)),
    spec!("pexpiretime", 2, false, |a| Ttl::parse(a, true, true)
        .map(Command::Ttl)),
    spec!("persist", 2, false, |a| Persist::parse(a)
        .map(Command::Persist)),
    spec!("multi", 1, false, |_| Ok(Command::Multi(Multi))),
    spec!("exec", 1, false, |_| Ok(Command::Exec(Exec))),
    spec!("discard", 1, false, |_| Ok(Command::Discard(Discard))),
    spec!("watch", -2, false, |a| Watch::parse(a).map(Command::Watch)),
    spec!("unwatch", 1, false, |_| Ok(Command::Unwatch(Unwatch))),
    spec!("publish", 3, false, |a| Publish::parse(a)
        .map(Command::Publish)),
    spec!("subscribe", -2, true, |a| Subscribe::parse(a)
        .map(Command::Subscribe)),
    spec!("unsubscribe", -1, true, |a| Unsubscribe::parse(a)
        .map(Command::Unsubscribe)),
    spec!("psubscribe", -2, true, |a| PSubscribe::parse(a)
        .map(Command::PSubscribe)),
    spec!("punsubscribe", -1, true, |a| PUnsubscribe::parse(a)
        .map(Command::PUnsubscribe)),
    spec!("pubsub", -2, false, |a| PubSubCmd::parse(a)
        .map(Command::PubSub)),
    spec!("dbsize", 1, false, |_| Ok(Command::DbSize(DbSize))),
    spec!("flushdb", -1, false, |a| FlushDb::parse(a)
        .map(Command::FlushDb)),
    spec!("flushall", -1, false, |a| FlushAll::parse(a)
        .map(Command::FlushAll)),
    spec!("config", -2, false, |a| ConfigCmd::parse(a)
        .map(Command::Config)),
    spec!("auth", -2, false, |a| Auth::parse(a).map(Command::Auth)),
    spec!("reset", 1, true, |_| Ok(Command::Reset(Reset))),
    spec!("readonly", 1, false, |_| Ok(Command::ReadOnly(ReadOnly))),
    spec!("readwrite", 1, false, |_| Ok(Command::ReadOnly(ReadOnly))),
    spec!("client", -2, false, |a| Client::parse(a)
        .map(Command::Client)),
    spec!("command", -1, false, |a| CommandCmd::parse(a)
        .map(Command::Command)),
    spec!("info", -1, false, |a| Info::parse(a).map(Command::Info)),
    spec!("time", 1, false, |_| Ok(Command::Time(Time))),
    spec!("lastsave", 1, false, |_| Ok(Command::LastSave(LastSave))),
    spec!("swapdb", 3, false, |a| SwapDb::parse(a)
        .map(Command::SwapDb)),
    spec!("object", -2, false, |a| Object::parse(a)
        .map(Command::Object)),
    spec!("debug", -2, false, |a| Debug::parse(a).map(Command::Debug)),
    spec!("function", -2, false, function::parse),
    spec!("fcall", -3, false, function::parse),
    spec!("fcall_ro", -3, false, function::parse),
    spec!("slowlog", -2, false, |a| SlowlogCmd::parse(a)
        .map(Command::Slowlog)),
    spec!("latency", -2, false, |a| LatencyCmd::parse(a)
        .map(Command::Latency)),
    spec!("memory", -2, false, |a| MemoryCmd::parse(a)
        .map(Command::Memory)),
    spec!("monitor", 1, false, |_| Ok(Command::Monitor(Monitor))),
    spec!("acl", -2, false, |a| AclCmd::parse(a).map(Command::Acl)),
    spec!("shutdown", -1, false, |a| Shutdown::parse(a)
        .map(Command::Shutdown)),
    spec!("save", 1, false, |_| Ok(Command::Save(PersistCmd::Save))),
    spec!("bgsave", -1, false, |a| PersistCmd::parse_bgsave(a)
        .map(Command::Save)),
    spec!("bgrewriteaof", 1, false, |_| Ok(Command::Save(
        PersistCmd::BgRewriteAof
    ))),
    // Hashes (cmd/hash.rs).
    spec!("hset", -4, false, hash::parse),
    spec!("hsetnx", 4, false, hash::parse),
    spec!("hmset", -4, false, hash::parse),
    spec!("hget", 3, false, hash::parse),
    spec!("hmget", -3, false, hash::parse),
    spec!("hdel", -3, false, hash::parse),
    spec!("hexists", 3, false, hash::parse),
    spec!("hlen", 2, false, hash::parse),
    spec!("hstrlen", 3, false, hash::parse),
    spec!("hkeys", 2, false, hash::parse),
    spec!("hvals", 2, false, hash::parse),
    spec!("hgetall", 2, false, hash::parse),
    spec!("hincrby", 4, false, hash::parse),
    spec!("hincrbyfloat", 4, false, hash::parse),
    spec!("hrandfield", -2, false, hash::parse),
    spec!("hscan", -3, false, hash::parse),
    // Lists (cmd/list.rs).
    spec!("lpush", -3, false, list::parse),
    spec!("rpush", -3, false, list::parse),
    spec!("lpushx", -3, false, list::parse),
    spec!("rpushx", -3, false, list::parse),
    spec!("lpop", -2, false, list::parse),
    spec!("rpop", -2, false, list::parse),
    spec!("llen", 2, false, list::parse),
    spec!("lrange", 4, false, list::parse),
    spec!("lindex", 3, false, list::parse),
    spec!("lset", 4, false, list::parse),
    spec!("linsert", 5, false, list::parse),
    spec!("lrem", 4, false, list::parse),
    spec!("ltrim", 4, false, list::parse),
    spec!("lpos", -3, false, list::parse),
    spec!("lmove", 5, false, list::parse),
    spec!("rpoplpush", 3, false, list::parse),
    spec!("lmpop", -4, false, list::parse),
    spec!("blpop", -3, false, list::parse),
    spec!("brpop", -3, false, list::parse),
    spec!("blmove", 6, false, list::parse),
    spec!("brpoplpush", 4, false, list::parse),
    spec!("blmpop", -5, false, list::parse),
    // Sets (cmd/set.rs).
    spec!("sadd", -3, false, set::parse),
    spec!("srem", -3, false, set::parse),
    spec!("smembers", 2, false, set::parse),
    spec!("sismember", 3, false, set::parse),
    spec!("smismember", -3, false, set::parse),
    spec!("scard", 2, false, set::parse),
    spec!("spop", -2, false, set::parse),
    spec!("srandmember", -2, false, set::parse),
    spec!("smove", 4, false, set::parse),
    spec!("sinter", -2, false, set::parse),
    spec!("sintercard", -3, false, set::parse),
    spec!("sunion", -2, false, set::parse),
    spec!("sdiff", -2, false, set::parse),
    spec!("sinterstore", -3, false, set::parse),
    spec!("sunionstore", -3, false, set::parse),
    spec!("sdiffstore", -3, false, set::parse),
    spec!("sscan", -3, false, set::parse),
    // Sorted sets (cmd/zset.rs).
    spec!("zadd", -4, false, zset::parse),
    spec!("zincrby", 4, false, zset::parse),
    spec!("zrem", -3, false, zset::parse),
    spec!("zscore", 3, false, zset::parse),
    spec!("zmscore", -3, false, zset::parse),
    spec!("zcard", 2, false, zset::parse),
    spec!("zcount", 4, false, zset::parse),
    spec!("zlexcount", 4, false, zset::parse),
    spec!("zrange", -4, false, zset::parse),
    spec!("zrangestore", -5, false, zset::parse),
    spec!("zrangebyscore", -4, false, zset::parse),
    spec!("zrevrangebyscore", -4, false, zset::parse),
    spec!("zrangebylex", -4, false, zset::parse),
    spec!("zrevrangebylex", -4, false, zset::parse),
    spec!("zrevrange", -4, false, zset::parse),
    spec!("zrank", 3, false, zset::parse),
    spec!("zrevrank", 3, false, zset::parse),
    spec!("zpopmin", -2, false, zset::parse),
    spec!("zpopmax", -2, false, zset::parse),
    spec!("zmpop", -4, false, zset::parse),
    spec!("bzpopmin", -3, false, zset::parse),
    spec!("bzpopmax", -3, false, zset::parse),
    spec!("bzmpop", -5, false, zset::parse),
    spec!("zremrangebyrank", 4, false, zset::parse),
    spec!("zremrangebyscore", 4, false, zset::parse),
    spec!("zremrangebylex", 4, false, zset::parse),
    spec!("zunion", -3, false, zset::parse),
    spec!("zinter", -3, false, zset::parse),
    spec!("zdiff", -3, false, zset::parse),
    spec!("zunionstore", -4, false, zset::parse),
    spec!("zinterstore", -4, false, zset::parse),
    spec!("zdiffstore", -4, false, zset::parse),
    spec!("zintercard", -3, false, zset::parse),
    spec!("zrandmember", -2, false, zset::parse),
    spec!("zscan", -3, false, zset::parse),
    // Bitmaps (cmd/bits.rs).
    spec!("setbit", 4, false, bits::parse),
    spec!("getbit", 3, false, bits::parse),
    spec!("bitcount", -2, false, bits::parse),
    spec!("bitpos", -3, false, bits::parse),
    spec!("bitop", -4, false, bits::parse),
    spec!("bitfield", -2, false, bits::parse),
    spec!("bitfield_ro", -2, false, bits::parse),
    // HyperLogLog (cmd/hll.rs).
    spec!("pfadd", -2, false, hll::parse),
    spec!("pfcount", -2, false, hll::parse),
    spec!("pfmerge", -2, false, hll::parse),
    spec!("pfdebug", 3, false, hll::parse),
    spec!("pfselftest", 1, false, hll::parse),
    // Scripting (cmd/script.rs).
    spec!("eval", -3, false, script::parse),
    spec!("evalsha", -3, false, script::parse),
    spec!("eval_ro", -3, false, script::parse),
    spec!("evalsha_ro", -3, false, script::parse),
    spec!("script", -2, false, script::parse),
    // Geo (cmd/geo.rs).
    spec!("geoadd", -5, false, geo::parse),
    spec!("geodist", -4, false, geo::parse),
    spec!("geohash", -2, false, geo::parse),
    spec!("geopos", -2, false, geo::parse),
    spec!("georadius", -6, false, geo::parse),
    spec!("georadius_ro", -6, false, geo::parse),
    spec!("georadiusbymember", -5, false, geo::parse),
    spec!("georadiusbymember_ro", -5, false, geo::parse),
    spec!("geosearch", -7, false, geo::parse),
    spec!("geosearchstore", -8, false, geo::parse),
    // SORT (cmd/sort.rs).
    spec!("sort", -2, false, sort::parse),
    spec!("sort_ro", -2, false, sort::parse),
    // DUMP / RESTORE (cmd/dump.rs).
    spec!("dump", 2, false, dump::parse),
    spec!("restore", -4, false, dump::parse),
    spec!("restore-asking", -4, false, dump::parse),
    // Streams (cmd/stream.rs).
    spec!("xadd", -5, false, stream::parse),
    spec!("xlen", 2, false, stream::parse),
    spec!("xrange", -4, false, stream::parse),
    spec!("xrevrange", -4, false, stream::parse),
    spec!("xdel", -3, false, stream::parse),
    spec!("xtrim", -4, false, stream::parse),
    spec!("xsetid", -3, false, stream::parse),
    spec!("xread", -4, false, stream::parse),
    spec!("xreadgroup", -7, false, stream::parse),
    spec!("xack", -4, false, stream::parse),
    spec!("xpending", -3, false, stream::parse),
    spec!("xclaim", -6, false, stream::parse),
    spec!("xautoclaim", -6, false, stream::parse),
    spec!("xgroup", -2, false, stream::parse),
    spec!("xinfo", -2, false, stream::parse),
    // Replication (cmd/repl.rs).
    spec!("replconf", -1, false, |a| repl::parse(a).map(Command::Repl)),
    spec!("psync", -3, false, |a| repl::parse(a).map(Command::Repl)),
    spec!("sync", 1, false, |a| repl::parse(a).map(Command::Repl)),
    spec!("wait", 3, false, |a| repl::parse(a).map(Command::Repl)),
    spec!("role", 1, false, |a| repl::parse(a).map(Command::Repl)),
    spec!("replicaof", 3, false, |a| repl::parse(a).map(Command::Repl)),
    spec!("slaveof", 3, false, |a| repl::parse(a).map(Command::Repl)),
];

/// The spec of the command named `name`, in any case.
pub fn spec(name: &[u8]) -> Option<&'static CommandSpec> {
    resolve(name).map(|r| r.spec)
}

/// What the session checks about a command on every request, worked out once.
pub(crate) struct Resolved {
    pub spec: &'static CommandSpec,
    /// Flag `write`: its key lookups are not reads for INFO's keyspace hits and misses.
    pub write: bool,
    /// Flag `no_auth`: allowed before AUTH.
    pub no_auth: bool,
    /// A container (CLIENT, CONFIG…): counted in INFO commandstats under its subcommand.
    pub container: bool,
    /// Flag `denyoom`: refused while memory is over `maxmemory`.
    pub denyoom: bool,
    /// Flag `readonly`: a tracking client remembers its keys (for a container, see the
    /// subcommand's flags).
    pub readonly: bool,
}

impl Resolved {
    /// The name a request for this command is counted under (see [`command::stat_name`]),
    /// without looking anything up for a plain command.
    pub fn stat_name(&self, args: &[Bytes]) -> Option<&'static str> {
        if self.container {
            command::stat_name(self.spec, args)
        } else {
            Some(self.spec.name)
        }
    }
}

/// Looks a command name up in any case. A hash lookup: this runs for every request, and a
/// scan of the table (or of the metadata) cost more than the commands themselves.
pub(crate) fn resolve(name: &[u8]) -> Option<&'static Resolved> {
    type Index = std::collections::HashMap<&'static [u8], Resolved, foldhash::fast::FixedState>;
    static INDEX: std::sync::OnceLock<Index> = std::sync::OnceLock::new();
    if name.len() > 24 {
        return None;
    }
    let mut lower = [0u8; 24];
    let lower = &mut lower[..name.len()];
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    let index = INDEX.get_or_init(|| {
        COMMANDS
            .iter()
            .map(|spec| {
                let meta = command::meta(spec.name);
                let flag = |f: &str| meta.is_some_and(|m| m.flags.contains(&f));
                let r = Resolved {
                    spec,
                    write: flag("write"),
                    no_auth: flag("no_auth"),
                    container: command::is_container(spec.name),
                    denyoom: flag("denyoom"),
                    readonly: flag("readonly"),
                };
                (spec.name.as_bytes(), r)
            })
            .collect()
    });
    index.get(&*lower)
}

impl Command {
    /// Parses a request (`args[0]` is the command name) into a command. Unknown names and
    /// wrong argument counts give Redis's errors.
    pub fn parse(args: Vec<Bytes>) -> Result<Command, CmdError> {
        lookup(&args)?.parse(args)
    }

    /// The spec of the command this is.
    pub fn spec(&self) -> &'static CommandSpec {
        let name = match self {
            Command::Ping(_) => "ping",
            Command::Echo(_) => "echo",
            Command::Quit => "quit",
            Command::Hello(_) => "hello",
            Command::Select(_) => "select",
            Command::Get(_) => "get",
            Command::Set(_) => "set",
            Command::SetNx(_) => "setnx",
            Command::SetEx(c) if c.millis => "psetex",
            Command::SetEx(_) => "setex",
            Command::GetSet(_) => "getset",
            Command::GetDel(_) => "getdel",
            Command::GetEx(_) => "getex",
            Command::MGet(_) => "mget",
            Command::MSet(c) if c.nx => "msetnx",
            Command::MSet(_) => "mset",
            Command::IncrBy(c) => c.name,
            Command::IncrByFloat(_) => "incrbyfloat",
            Command::Append(_) => "append",
            Command::StrLen(_) => "strlen",
            Command::GetRange(_) => "getrange",
            Command::SetRange(_) => "setrange",
            Command::Lcs(_) => "lcs",
            Command::Del(d) if d.unlink => "unlink",
            Command::Del(_) => "del",
            Command::Exists(_) => "exists",
            Command::Touch(_) => "touch",
            Command::Type(_) => "type",
            Command::Keys(_) => "keys",
            Command::Scan(_) => "scan",
            Command::RandomKey(_) => "randomkey",
            Command::Rename(r) if r.nx => "renamenx",
            Command::Rename(_) => "rename",
            Command::Copy(_) => "copy",
            Command::Move(_) => "move",
            Command::Expire(e) => e.name(),
            Command::Ttl(t) => t.name(),
            Command::Persist(_) => "persist",
            Command::Multi(_) => "multi",
            Command::Exec(_) => "exec",
            Command::Discard(_) => "discard",
            Command::Watch(_) => "watch",
            Command::Unwatch(_) => "unwatch",
            Command::Publish(_) => "publish",
            Command::Subscribe(_) => "subscribe",
            Command::Unsubscribe(_) => "unsubscribe",
            Command::PSubscribe(_) => "psubscribe",
            Command::PUnsubscribe(_) => "punsubscribe",
            Command::PubSub(_) => "pubsub",
            Command::DbSize(_) => "dbsize",
            Command::FlushDb(_) => "flushdb",
            Command::FlushAll(_) => "flushall",
            Command::Config(_) => "config",
            Command::Auth(_) => "auth",
            Command::Reset(_) => "reset",
            Command::ReadOnly(_) => "readonly",
            Command::Client(_) => "client",
            Command::Command(_) => "command",
            Command::Info(_) => "info",
            Command::Time(_) => "time",
            Command::LastSave(_) => "lastsave",
            Command::SwapDb(_) => "swapdb",
            Command::Object(_) => "object",
            Command::Debug(_) => "debug",
            Command::Function(c) => c.name(),
            Command::Slowlog(_) => "slowlog",
            Command::Latency(_) => "latency",
            Command::Memory(_) => "memory",
            Command::Monitor(_) => "monitor",
            Command::Acl(_) => "acl",
            Command::Shutdown(_) => "shutdown",
            Command::Save(c) => c.name(),
            Command::Hash(c) => c.name(),
            Command::List(c) => c.name(),
            Command::Sets(c) => c.name(),
            Command::ZSet(c) => c.name(),
            Command::Bits(c) => c.name(),
            Command::Hll(c) => c.name(),
            Command::Script(c) => c.name(),
            Command::Geo(c) => c.name(),
            Command::Sort(c) => c.name(),
            Command::Dump(c) => c.name(),
            Command::Stream(c) => c.name(),
            Command::Repl(c) => c.name(),
        };
        spec(name.as_bytes()).expect("every command has a spec")
    }
}

/// Finds the spec for a request (`args[0]` is the name) and checks its arity, with Redis's errors.
pub fn lookup(args: &[Bytes]) -> Result<&'static CommandSpec, CmdError> {
    let name = args.first().ok_or(CmdError::Empty)?;
    check(spec(name), args)
}

/// [`lookup`] with the spec already found by name (`None`: unknown command).
pub(crate) fn check(
    found: Option<&'static CommandSpec>,
    args: &[Bytes],
) -> Result<&'static CommandSpec, CmdError> {
    let spec = found.ok_or_else(|| CmdError::unknown_command(&args[0], &args[1..]))?;
    let n = args.len() as i64;
    let arity = i64::from(spec.arity);
    if (arity > 0 && n != arity) || n < -arity {
        return Err(CmdError::WrongArity(spec.name));
    }
    Ok(spec)
}

/// A cursor over a request's arguments, for the parsers.
#[derive(Debug)]
pub struct Args {
    name: &'static str,
    /// The name as the client sent it (some errors quote it with its case).
    sent: Bytes,
    iter: std::vec::IntoIter<Bytes>,
}

impl Args {
    /// Arguments after the command name; `name` is the spec's name, for error texts.
    pub(crate) fn new(name: &'static str, args: Vec<Bytes>) -> Args {
        let mut iter = args.into_iter();
        let sent = iter.next().unwrap_or_default();
        Args { name, sent, iter }
    }

    /// The command's name as the client sent it, in its case.
    pub fn sent_name(&self) -> &Bytes {
        &self.sent
    }

    /// The command's name, for error texts.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The next argument, if any.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<Bytes> {
        self.iter.next()
    }

    /// The next argument; a missing one is an arity error.
    pub fn required(&mut self) -> Result<Bytes, CmdError> {
        self.iter.next().ok_or(CmdError::WrongArity(self.name))
    }

    /// How many arguments are left.
    pub fn remaining(&self) -> usize {
        self.iter.len()
    }

    /// The next argument, left in place.
    pub fn peek(&self) -> Option<&Bytes> {
        self.iter.as_slice().first()
    }

    /// All remaining arguments.
    pub fn rest(&mut self) -> Vec<Bytes> {
        self.iter.by_ref().collect()
    }
}

pub use crate::num::parse_i64;

/// Parses an integer argument, or fails with `ERR value is not an integer or out of range`.
pub(crate) fn int_arg(s: &[u8]) -> Result<i64, CmdError> {
    parse_i64(s).ok_or(CmdError::NotInteger)
}

/// Parses an `int` argument as Redis's `getIntFromObjectOrReply`: not an integer at all is
/// `value is not an integer or out of range`; an integer outside `i32` has its own error.
pub(crate) fn int32_arg(s: &[u8]) -> Result<i32, CmdError> {
    i32::try_from(int_arg(s)?).map_err(|_| {
        CmdError::err("value is out of range, value must between -2147483648 and 2147483647")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(parts: &[&str]) -> Vec<Bytes> {
        parts
            .iter()
            .map(|p| Bytes::copy_from_slice(p.as_bytes()))
            .collect()
    }

    #[test]
    fn parse_i64_is_strict_like_redis() {
        let cases: &[(&str, Option<i64>)] = &[
            ("0", Some(0)),
            ("42", Some(42)),
            ("-42", Some(-42)),
            ("9223372036854775807", Some(i64::MAX)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775808", None),
            ("-0", None),
            ("007", None),
            ("+1", None),
            (" 1", None),
            ("1 ", None),
            ("", None),
            ("-", None),
            ("1.5", None),
            ("99999999999999999999", None),
        ];
        for &(s, want) in cases {
            assert_eq!(parse_i64(s.as_bytes()), want, "{s:?}");
        }
    }

    #[test]
    fn errors_have_redis_wording() {
        let cases: &[(&[&str], &str)] = &[
            (&["GET"], "ERR wrong number of arguments for 'get' command"),
            (
                &["get", "a", "b"],
                "ERR wrong number of arguments for 'get' command",
            ),
            (
                &["foo", "x"],
                "ERR unknown command 'foo', with args beginning with: 'x' ",
            ),
            (
                &["foo"],
                "ERR unknown command 'foo', with args beginning with: ",
            ),
            (&["SET", "k", "v", "NX", "XX"], "ERR syntax error"),
            (
                &["set", "k", "v", "EX", "ten"],
                "ERR value is not an integer or out of range",
            ),
            (
                &["set", "k", "v", "EX", "0"],
                "ERR invalid expire time in 'set' command",
            ),
            (&["set", "k", "v", "KEEPTTL", "EX", "1"], "ERR syntax error"),
            (&["set", "k", "v", "EX"], "ERR syntax error"),
            (
                &["expire", "k", "1", "NX", "XX"],
                "ERR NX and XX, GT or LT options at the same time are not compatible",
            ),
            (
                &["expire", "k", "1", "GT", "LT"],
                "ERR GT and LT options at the same time are not compatible",
            ),
            (&["expire", "k", "1", "YY"], "ERR Unsupported option YY"),
            (
                &["expire", "k", "x"],
                "ERR value is not an integer or out of range",
            ),
            (
                &["ping", "a", "b"],
                "ERR wrong number of arguments for 'ping' command",
            ),
            (
                &["config"],
                "ERR wrong number of arguments for 'config' command",
            ),
            (
                &["config", "get"],
                "ERR wrong number of arguments for 'config|get' command",
            ),
            (
                &["mset", "a", "1", "b"],
                "ERR wrong number of arguments for 'mset' command",
            ),
            (
                &["decrby", "k", "-9223372036854775808"],
                "ERR decrement would overflow",
            ),
            (&["setrange", "k", "-1", "x"], "ERR offset is out of range"),
            (
                &["setex", "k", "0", "v"],
                "ERR invalid expire time in 'setex' command",
            ),
            (&["getex", "k", "PERSIST", "EX", "1"], "ERR syntax error"),
            (&["scan", " 0"], "ERR invalid cursor"),
            (&["scan", "0", "COUNT", "0"], "ERR syntax error"),
            (
                &["move", "k", "2147483648"],
                "ERR value is out of range, value must between -2147483648 and 2147483647",
            ),
            (&["copy", "a", "b", "DB"], "ERR syntax error"),
            (
                &["watch"],
                "ERR wrong number of arguments for 'watch' command",
            ),
        ];
        for &(parts, want) in cases {
            let err = Command::parse(req(parts)).expect_err(&format!("{parts:?} must fail"));
            assert_eq!(err.to_string(), want, "{parts:?}");
        }
    }

    #[test]
    fn unknown_command_args_are_cut_at_128_bytes() {
        let long = "x".repeat(200);
        let err = Command::parse(req(&["nope", &long, "y"]))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            format!(
                "ERR unknown command 'nope', with args beginning with: '{}' ",
                "x".repeat(128)
            )
        );
    }

    #[test]
    fn names_are_case_insensitive() {
        assert!(matches!(
            Command::parse(req(&["gEt", "k"])),
            Ok(Command::Get(_))
        ));
        assert!(
            matches!(Command::parse(req(&["PEXPIRE", "k", "5"])), Ok(Command::Expire(e)) if e.millis)
        );
    }
}
