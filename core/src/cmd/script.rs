//! Scripting: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT, on the engine the server
//! plugged in ([`crate::db::ScriptEngine`]).
//!
//! Core keeps the script cache's bookkeeping (each script's digest, shebang flags and size)
//! and runs everything a script does to the data: each `redis.call` goes through the
//! executor with [`Caller::SCRIPT`], on a connection state of the script's own (its SELECT
//! does not leak to the caller, as in Redis 7.0), with Redis's refusals for scripts in front.
//! The engine compiles and runs the Lua.
//!
//! A script's writes are logged as the commands it ran, never as the script: they land in the
//! EVAL's effects unit, which wraps more than one in MULTI/EXEC (Redis 7.0's effects
//! replication).

use bytes::{Bytes, BytesMut};

use super::command::subcommand;
use super::executor::{self, Caller, ConnState, Ctx, Outcome};
use super::{Args, CmdError};
use crate::db::{
    CachedScript, CallError, ScriptEngine, ScriptFlags, ScriptHost, ScriptReply, ScriptRun,
    ScriptSha,
};
use crate::resp::{Decoder, Frame, Limits, Protocol};

/// The SHA1 of `body` in lower-case hex, as SCRIPT LOAD answers and `redis.sha1hex` gives.
pub fn sha1_hex(body: &[u8]) -> ScriptSha {
    let digest = sha1_smol::Sha1::from(body).digest().bytes();
    let mut out = [0u8; 40];
    for (i, b) in digest.iter().enumerate() {
        out[2 * i] = b"0123456789abcdef"[usize::from(b >> 4)];
        out[2 * i + 1] = b"0123456789abcdef"[usize::from(b & 15)];
    }
    out
}

/// EVAL and its forms: which script, and its `KEYS` and `ARGV`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eval {
    /// The script's body (EVAL) or digest (EVALSHA).
    pub script: Bytes,
    /// EVALSHA: `script` is a digest.
    pub by_sha: bool,
    /// EVAL_RO / EVALSHA_RO: writes are refused.
    pub read_only: bool,
    /// The `KEYS` table.
    pub keys: Vec<Bytes>,
    /// The `ARGV` table.
    pub argv: Vec<Bytes>,
}

/// The scripting commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptCmd {
    /// EVAL, EVALSHA, EVAL_RO, EVALSHA_RO.
    Eval(Eval),
    /// `SCRIPT LOAD body`.
    Load(Bytes),
    /// `SCRIPT EXISTS sha …`.
    Exists(Vec<Bytes>),
    /// `SCRIPT FLUSH [ASYNC | SYNC]`.
    Flush,
    /// `SCRIPT KILL` (a script that runs holds the store, so none runs when this does).
    Kill,
    /// `SCRIPT HELP`.
    Help,
}

pub(crate) fn parse(args: &mut Args) -> Result<super::Command, CmdError> {
    let name = args.name();
    let cmd = match name {
        "script" => {
            let m = subcommand(args, "SCRIPT")?;
            match m.name {
                "script|load" => ScriptCmd::Load(args.required()?),
                "script|exists" => ScriptCmd::Exists(args.rest()),
                "script|flush" => match args.next() {
                    None => ScriptCmd::Flush,
                    Some(m)
                        if args.remaining() == 0
                            && (m.eq_ignore_ascii_case(b"ASYNC")
                                || m.eq_ignore_ascii_case(b"SYNC")) =>
                    {
                        ScriptCmd::Flush
                    }
                    Some(_) => {
                        return Err(CmdError::err("SCRIPT FLUSH only support SYNC|ASYNC option"))
                    }
                },
                "script|kill" => ScriptCmd::Kill,
                _ => ScriptCmd::Help,
            }
        }
        _ => {
            let script = args.required()?;
            let numkeys = super::int_arg(&args.required()?)?;
            if numkeys < 0 {
                return Err(CmdError::err("Number of keys can't be negative"));
            }
            if numkeys as u64 > args.remaining() as u64 {
                return Err(CmdError::err(
                    "Number of keys can't be greater than number of args",
                ));
            }
            let mut rest = args.rest();
            let argv = rest.split_off(numkeys as usize);
            ScriptCmd::Eval(Eval {
                script,
                by_sha: name.starts_with("evalsha"),
                read_only: name.ends_with("_ro"),
                keys: rest,
                argv,
            })
        }
    };
    Ok(super::Command::Script(cmd))
}

impl ScriptCmd {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            ScriptCmd::Eval(e) => match (e.by_sha, e.read_only) {
                (false, false) => "eval",
                (true, false) => "evalsha",
                (false, true) => "eval_ro",
                (true, true) => "evalsha_ro",
            },
            _ => "script",
        }
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        match self {
            ScriptCmd::Eval(e) => eval(ctx, e),
            ScriptCmd::Load(body) => load(ctx, &body).map(|sha| Frame::Bulk(sha_bytes(&sha))),
            ScriptCmd::Exists(shas) => Ok(Frame::Array(
                shas.iter()
                    .map(|s| {
                        let known = digest_arg(s).is_some_and(|s| ctx.store.scripts.contains(&s));
                        Frame::Integer(known.into())
                    })
                    .collect(),
            )),
            ScriptCmd::Flush => {
                ctx.store.scripts.flush();
                Ok(Frame::OK)
            }
            ScriptCmd::Kill => Err(CmdError::Other(
                "NOTBUSY No scripts in execution right now.".into(),
            )),
            ScriptCmd::Help => Ok(super::command::help("SCRIPT", HELP)),
        }
    }
}

fn sha_bytes(sha: &ScriptSha) -> Bytes {
    Bytes::copy_from_slice(sha)
}

/// An EVALSHA argument as a cache key: 40 hex digits in any case.
fn digest_arg(s: &[u8]) -> Option<ScriptSha> {
    let mut sha: ScriptSha = s.try_into().ok()?;
    sha.make_ascii_lowercase();
    Some(sha)
}

/// Compiles and caches `body` unless it is cached already; its digest.
fn load(ctx: &mut Ctx, body: &[u8]) -> Result<ScriptSha, CmdError> {
    let sha = sha1_hex(body);
    if ctx.store.scripts.contains(&sha) {
        return Ok(sha);
    }
    let (flags, shebang_len) = ScriptFlags::parse(body).map_err(CmdError::Other)?;
    let scripts = &mut ctx.store.scripts;
    let engine = scripts.engine_mut().ok_or_else(no_engine)?;
    engine
        .load(&sha, &body[shebang_len..])
        .map_err(CmdError::Other)?;
    scripts.insert(
        sha,
        CachedScript {
            flags,
            body_len: body.len(),
        },
    );
    Ok(sha)
}

pub(super) fn no_engine() -> CmdError {
    CmdError::err("This server was built without a script engine")
}

fn eval(ctx: &mut Ctx, e: Eval) -> Result<Frame, CmdError> {
    let sha = if e.by_sha {
        digest_arg(&e.script)
            .filter(|s| ctx.store.scripts.contains(s))
            .ok_or_else(|| {
                CmdError::Other("NOSCRIPT No matching script. Please use EVAL.".into())
            })?
    } else {
        load(ctx, &e.script)?
    };
    let flags = ctx
        .store
        .scripts
        .get(&sha)
        .map(|s| s.flags)
        .unwrap_or_default();
    // A script's own writes are logged command by command; EVAL itself never.
    ctx.propagate_nothing();
    let run = |engine: &mut dyn ScriptEngine, host: &mut Host| {
        let run = ScriptRun {
            sha: &sha,
            keys: &e.keys,
            argv: &e.argv,
            caller_proto: host.ctx.conn.proto,
        };
        engine.run(run, host)
    };
    run_on_engine(ctx, true, e.read_only || flags.no_writes, flags, run)
}

/// Runs `run` (a script or a function) with the engine taken out of the store and a host
/// for its `redis.call`s; its reply, or its error. `eval`: a script, not a function (for
/// SCRIPT KILL and FUNCTION KILL, while it runs).
pub(super) fn run_on_engine(
    ctx: &mut Ctx,
    eval: bool,
    read_only: bool,
    flags: ScriptFlags,
    run: impl FnOnce(&mut dyn ScriptEngine, &mut Host) -> ScriptReply,
) -> Result<Frame, CmdError> {
    let Some(mut engine) = ctx.store.scripts.take_engine() else {
        return Err(no_engine());
    };
    let mut conn = ConnState::new(ctx.conn.id);
    conn.user = ctx.conn.user.clone();
    conn.db = ctx.conn.db;
    let writes = ctx.store.writes();
    let mut host = Host {
        ctx,
        conn,
        read_only,
        flags,
        writes,
        out: BytesMut::new(),
    };
    let threshold = host.ctx.store.config().busy_reply_threshold_ms;
    let watch = host.ctx.store.script_watch.clone();
    watch.begin(eval, host.ctx.now_ms, threshold);
    let reply = run(&mut *engine, &mut host);
    watch.end();
    host.ctx.store.scripts.put_engine(engine);
    match reply.frame {
        Frame::Error(text) => {
            let text = String::from_utf8_lossy(&text).into_owned();
            if reply.error_counted {
                host.ctx.error_already_counted();
            }
            Err(CmdError::Other(text))
        }
        frame => Ok(frame),
    }
}

/// The server as a running script sees it.
pub(super) struct Host<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    /// The script's own connection state: its selected database and protocol.
    conn: ConnState,
    /// EVAL_RO, EVALSHA_RO or `#!lua flags=no-writes`.
    read_only: bool,
    flags: ScriptFlags,
    /// The store's write count when the script started: more means it wrote.
    writes: u64,
    out: BytesMut,
}

impl Host<'_, '_> {
    /// The protocol of the client that called the script.
    pub(super) fn caller_proto(&self) -> Protocol {
        self.ctx.conn.proto
    }

    fn wrote(&self) -> bool {
        self.ctx.store.writes() != self.writes
    }

    /// Redis's checks of a command called from a script (`scriptCall`), before the
    /// executor's own.
    fn admit(&mut self, args: &[Bytes]) -> Result<(), String> {
        let Some(r) = super::resolve(&args[0]) else {
            return Err("ERR Unknown Redis command called from script".into());
        };
        if super::check(Some(r.spec), args).is_err() {
            return Err("ERR Wrong number of args calling Redis command from script".into());
        }
        let name = r.stat_name(args).unwrap_or(r.spec.name);
        let meta = super::command::meta(name);
        let flag = |f: &str| meta.is_some_and(|m| m.flags.contains(&f));
        if flag("noscript") {
            return Err("ERR This Redis command is not allowed from script".into());
        }
        if let Err((denial, pos, id)) = super::acl_check(
            self.ctx.store,
            &self.conn.user,
            &mut self.conn.acl_allowed,
            args,
        ) {
            let object = super::denied_object(denial, pos, id, args);
            super::record_denial(
                self.ctx,
                super::DenialRecord {
                    denial,
                    context: "lua",
                    object,
                    username: None,
                },
            );
            return Err(match denial {
                crate::acl::Denial::Command => "ERR The user executing the script can't run this command or subcommand",
                crate::acl::Denial::Key => "ERR The user executing the script can't access at least one of the keys mentioned in the command arguments",
                _ => "ERR The user executing the script can't publish to the channel mentioned in the command",
            }
            .into());
        }
        if flag("write") {
            if self.read_only {
                return Err("ERR Write commands are not allowed from read-only scripts.".into());
            }
            if let Some(error) = self.ctx.store.disk_error() {
                return Err(error);
            }
        }
        // Over `maxmemory`, a script that has not written yet may not start to grow memory
        // (`allow-oom` lifts that); once it wrote, it runs to the end, as Redis.
        let limit = self.ctx.store.config().maxmemory;
        if flag("denyoom")
            && !self.flags.allow_oom
            && !self.wrote()
            && limit > 0
            && self.ctx.store.used_memory() > limit
        {
            return Err("OOM command not allowed when used memory > 'maxmemory'.".into());
        }
        if flag("write") {
            // From here SCRIPT KILL answers UNKILLABLE, as Redis's `SCRIPT_WRITE_DIRTY`.
            self.ctx.store.script_watch.note_write();
        }
        Ok(())
    }
}

impl ScriptHost for Host<'_, '_> {
    fn call(&mut self, args: Vec<Bytes>, proto: Protocol) -> Result<Frame, CallError> {
        let refused = |text: String| CallError {
            text,
            counted: false,
        };
        if args.is_empty() {
            return Err(refused(
                "ERR Please specify at least one argument for this redis lib call".into(),
            ));
        }
        self.admit(&args).map_err(refused)?;
        self.conn.proto = proto;
        self.out.clear();
        let outcome = {
            let ctx = &mut *self.ctx;
            let mut inner = Ctx::new(
                ctx.store,
                &mut self.conn,
                ctx.now_ms,
                &mut self.out,
                Caller::SCRIPT,
            );
            executor::execute(&mut inner, args)
        };
        match outcome {
            Outcome::Failed(e) | Outcome::Rejected(e) => Err(CallError {
                text: e.to_string(),
                counted: true,
            }),
            _ => {
                // Our own reply: no limit applies but the nesting depth's.
                let limits = Limits {
                    max_bulk_bytes: usize::MAX,
                    max_aggregate_len: usize::MAX,
                    max_inline_bytes: usize::MAX,
                    ..Limits::DEFAULT
                };
                let mut decoder = Decoder::new(limits);
                match decoder.decode(&mut self.out) {
                    Ok(Some(frame)) => Ok(frame),
                    _ => Ok(Frame::Null),
                }
            }
        }
    }

    fn log(&mut self, level: u8, message: &[u8]) {
        // Redis writes these to its log at the level given; the server's log is `tracing`.
        let message = String::from_utf8_lossy(message);
        match level {
            0 => tracing::debug!(target: "redis.log", "{message}"),
            1 | 2 => tracing::info!(target: "redis.log", "{message}"),
            _ => tracing::warn!(target: "redis.log", "{message}"),
        }
    }

    fn acl_check(&mut self, args: &[Bytes]) -> Result<bool, String> {
        if args.is_empty() {
            return Err("ERR Please specify at least one argument for this redis lib call".into());
        }
        // Redis's lookupCommand: a container alone names itself; with more arguments, its
        // subcommand must exist.
        let known = crate::acl::request_id(args).is_some()
            || (args.len() == 1 && crate::acl::command_id(&args[0]).is_some());
        if !known {
            return Err("ERR Invalid command passed to redis.acl_check_cmd()".into());
        }
        // Checked as the executor checks, without an ACL LOG entry (as Redis).
        Ok(super::acl_check(
            self.ctx.store,
            &self.conn.user,
            &mut self.conn.acl_allowed,
            args,
        )
        .is_ok())
    }

    fn set_repl(&mut self, _flags: u8) {
        // Effects always reach the AOF: with no replicas yet, REPL_NONE is the only flag
        // that would change anything, and Redis 7.0 ignores it too when the AOF is on
        // only for consistency's sake (see the closing note of the scripting issue).
    }
}

const HELP: &[&str] = &[
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_is_redis_digest() {
        assert_eq!(&sha1_hex(b""), b"da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            &sha1_hex(b"return 1"),
            b"e0e1f9fabfc9d4800c877a703b823ac0578ff8db"
        );
    }

    #[test]
    fn shebang_flags_and_errors() {
        let (f, len) = ScriptFlags::parse(b"#!lua flags=no-writes,allow-oom\nreturn 1").unwrap();
        assert!(f.shebang && f.no_writes && f.allow_oom && !f.allow_stale);
        assert_eq!(len, 31);
        assert_eq!(ScriptFlags::parse(b"return 1").unwrap().1, 0);
        let err = |b: &[u8]| ScriptFlags::parse(b).unwrap_err();
        assert_eq!(
            err(b"#!luax\nreturn 1"),
            "ERR Unexpected engine in script shebang: #!luax"
        );
        assert_eq!(err(b"#!lua"), "ERR Invalid script shebang");
        assert_eq!(
            err(b"#!lua name=x\n"),
            "ERR Unknown lua shebang option: name=x"
        );
        assert_eq!(
            err(b"#!lua flags=bogus\n"),
            "ERR Unexpected flag in script shebang: bogus"
        );
    }
}
