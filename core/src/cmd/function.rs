//! Redis Functions: FUNCTION LOAD / DELETE / LIST / FLUSH / DUMP / RESTORE / STATS / KILL /
//! HELP, FCALL and FCALL_RO, with Redis 7.0's replies and error texts (`functions.c`).
//!
//! The registry is [`crate::db::Functions`]; the engine compiles and runs the code. A
//! function runs as a script does (`cmd/script.rs`): its `redis.call`s go through the
//! executor with the script caller's flags, and its writes are logged command by command,
//! never as the FCALL. FUNCTION LOAD, DELETE, FLUSH and RESTORE are logged as sent.

use bytes::Bytes;

use super::command::subcommand;
use super::executor::Ctx;
use super::script::{no_engine, run_on_engine};
use super::{Args, CmdError};
use crate::db::{FunctionRun, Functions, RestorePolicy};
use crate::persist::rdb;
use crate::resp::Frame;

/// `FCALL` / `FCALL_RO function numkeys [key …] [arg …]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FCall {
    /// The function's name (any case).
    pub name: Bytes,
    /// FCALL_RO.
    pub read_only: bool,
    /// `numkeys` as sent: Redis checks it only once the function is found.
    pub numkeys: Bytes,
    /// Keys and arguments.
    pub rest: Vec<Bytes>,
}

/// The FUNCTION commands and FCALL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FunctionCmd {
    /// `FUNCTION LOAD [REPLACE] code`.
    Load {
        /// REPLACE.
        replace: bool,
        /// The library's source.
        code: Bytes,
    },
    /// `FUNCTION DELETE library`.
    Delete(Bytes),
    /// `FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE]`.
    List {
        /// LIBRARYNAME's pattern.
        pattern: Option<Bytes>,
        /// WITHCODE.
        with_code: bool,
    },
    /// `FUNCTION FLUSH [ASYNC | SYNC]`.
    Flush,
    /// `FUNCTION DUMP`.
    Dump,
    /// `FUNCTION RESTORE payload [FLUSH | APPEND | REPLACE]`.
    Restore {
        /// The payload of a FUNCTION DUMP.
        payload: Bytes,
        /// What happens to the libraries loaded already.
        policy: RestorePolicy,
    },
    /// `FUNCTION STATS`.
    Stats,
    /// `FUNCTION KILL` (a running function holds the store, so none runs when this does).
    Kill,
    /// `FUNCTION HELP`.
    Help,
    /// FCALL, FCALL_RO.
    Call(FCall),
}

fn syntax(sub: &[u8]) -> CmdError {
    CmdError::err(format_args!(
        "unknown subcommand or wrong number of arguments for '{}'. Try FUNCTION HELP.",
        String::from_utf8_lossy(sub)
    ))
}

pub(crate) fn parse(args: &mut Args) -> Result<super::Command, CmdError> {
    let name = args.name();
    if name != "function" {
        let fname = args.required()?;
        let numkeys = args.required()?;
        return Ok(super::Command::Function(FunctionCmd::Call(FCall {
            name: fname,
            read_only: name == "fcall_ro",
            numkeys,
            rest: args.rest(),
        })));
    }
    let sent_sub = args.peek().cloned().unwrap_or_default();
    let m = subcommand(args, "FUNCTION")?;
    let cmd = match m.name {
        "function|load" => {
            let mut rest = args.rest();
            let Some(code) = rest.pop() else {
                return Err(CmdError::err("Function code is missing"));
            };
            let mut replace = false;
            for opt in rest {
                if !opt.eq_ignore_ascii_case(b"REPLACE") {
                    return Err(CmdError::err(format_args!(
                        "Unknown option given: {}",
                        String::from_utf8_lossy(&opt)
                    )));
                }
                replace = true;
            }
            FunctionCmd::Load { replace, code }
        }
        "function|delete" => FunctionCmd::Delete(args.required()?),
        "function|list" => {
            let (mut pattern, mut with_code) = (None, false);
            while let Some(opt) = args.next() {
                if !with_code && opt.eq_ignore_ascii_case(b"WITHCODE") {
                    with_code = true;
                    continue;
                }
                if pattern.is_none() && opt.eq_ignore_ascii_case(b"LIBRARYNAME") {
                    let Some(p) = args.next() else {
                        return Err(CmdError::err("library name argument was not given"));
                    };
                    pattern = Some(p);
                    continue;
                }
                return Err(CmdError::err(format_args!(
                    "Unknown argument {}",
                    String::from_utf8_lossy(&opt)
                )));
            }
            FunctionCmd::List { pattern, with_code }
        }
        "function|flush" => {
            if args.remaining() > 1 {
                return Err(syntax(&sent_sub));
            }
            match args.next() {
                None => FunctionCmd::Flush,
                Some(m) if m.eq_ignore_ascii_case(b"ASYNC") || m.eq_ignore_ascii_case(b"SYNC") => {
                    FunctionCmd::Flush
                }
                Some(_) => {
                    return Err(CmdError::err(
                        "FUNCTION FLUSH only supports SYNC|ASYNC option",
                    ))
                }
            }
        }
        "function|dump" => FunctionCmd::Dump,
        "function|restore" => {
            let payload = args.required()?;
            if args.remaining() > 1 {
                return Err(syntax(&sent_sub));
            }
            let policy = match args.next() {
                None => RestorePolicy::Append,
                Some(p) if p.eq_ignore_ascii_case(b"APPEND") => RestorePolicy::Append,
                Some(p) if p.eq_ignore_ascii_case(b"REPLACE") => RestorePolicy::Replace,
                Some(p) if p.eq_ignore_ascii_case(b"FLUSH") => RestorePolicy::Flush,
                Some(_) => return Err(CmdError::err(
                    "Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
                )),
            };
            FunctionCmd::Restore { payload, policy }
        }
        "function|stats" => FunctionCmd::Stats,
        "function|kill" => FunctionCmd::Kill,
        _ => FunctionCmd::Help,
    };
    Ok(super::Command::Function(cmd))
}

fn b(s: &'static str) -> Frame {
    Frame::Bulk(Bytes::from_static(s.as_bytes()))
}

/// Flag names in Redis's order (`scripts_flags_def`).
fn flag_frames(flags: &crate::db::ScriptFlags) -> Frame {
    let names = [
        (flags.no_writes, "no-writes"),
        (flags.allow_oom, "allow-oom"),
        (flags.allow_stale, "allow-stale"),
        (flags.no_cluster, "no-cluster"),
        (flags.allow_cross_slot, "allow-cross-slot-keys"),
    ];
    Frame::Set(
        names
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, n)| Frame::simple(n))
            .collect(),
    )
}

impl FunctionCmd {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            FunctionCmd::Call(c) if c.read_only => "fcall_ro",
            FunctionCmd::Call(_) => "fcall",
            _ => "function",
        }
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        let err = |e: String| CmdError::err(e);
        match self {
            FunctionCmd::Call(c) => fcall(ctx, c),
            FunctionCmd::Load { replace, code } => {
                // A client's load stops after 500 ms; the AOF's is obeyed whatever it takes.
                let timeout = !ctx.is_internal();
                let (engine, functions) =
                    ctx.store.scripts.functions_mut().ok_or_else(no_engine)?;
                let name = functions
                    .load(engine, code, replace, timeout)
                    .map_err(err)?;
                ctx.store.db(0).count_write();
                Ok(Frame::Bulk(name))
            }
            FunctionCmd::Delete(name) => {
                let (engine, functions) =
                    ctx.store.scripts.functions_mut().ok_or_else(no_engine)?;
                if !functions.delete(engine, &name) {
                    return Err(CmdError::err("Library not found"));
                }
                ctx.store.db(0).count_write();
                Ok(Frame::OK)
            }
            FunctionCmd::Flush => {
                if let Some((engine, functions)) = ctx.store.scripts.functions_mut() {
                    functions.flush(engine);
                }
                ctx.store.db(0).count_write();
                Ok(Frame::OK)
            }
            FunctionCmd::Dump => {
                let functions = &ctx.store.scripts.functions;
                let payload = rdb::function_payload(functions.libraries().map(|l| &l.code[..]));
                Ok(Frame::Bulk(payload.into()))
            }
            FunctionCmd::Restore { payload, policy } => {
                let codes = rdb::read_function_payload(&payload).map_err(err)?;
                let (engine, functions) =
                    ctx.store.scripts.functions_mut().ok_or_else(no_engine)?;
                // Loaded apart first, so that the payload's own clashes fail it whole.
                let mut staged = Functions::default();
                for code in codes {
                    if let Err(e) = staged.load(engine, code, false, false) {
                        for lib in staged.libraries() {
                            engine.drop_library(lib.id);
                        }
                        return Err(err(e));
                    }
                }
                functions.join(engine, staged, policy).map_err(err)?;
                ctx.store.db(0).count_write();
                Ok(Frame::OK)
            }
            FunctionCmd::List { pattern, with_code } => {
                let functions = &ctx.store.scripts.functions;
                let libs = functions
                    .libraries()
                    .filter(|l| {
                        pattern
                            .as_ref()
                            .map_or(true, |p| crate::db::glob_match(p, &l.name, true))
                    })
                    .map(|l| {
                        let mut map = vec![
                            (b("library_name"), Frame::Bulk(l.name.clone())),
                            (b("engine"), b(crate::db::function::ENGINE_NAME)),
                            (
                                b("functions"),
                                Frame::Array(
                                    l.functions
                                        .iter()
                                        .map(|f| {
                                            Frame::Map(vec![
                                                (b("name"), Frame::Bulk(f.name.clone())),
                                                (
                                                    b("description"),
                                                    f.description
                                                        .clone()
                                                        .map_or(Frame::Null, Frame::Bulk),
                                                ),
                                                (b("flags"), flag_frames(&f.flags)),
                                            ])
                                        })
                                        .collect(),
                                ),
                            ),
                        ];
                        if with_code {
                            map.push((b("library_code"), Frame::Bulk(l.code.clone())));
                        }
                        Frame::Map(map)
                    })
                    .collect();
                Ok(Frame::Array(libs))
            }
            FunctionCmd::Stats => {
                let functions = &ctx.store.scripts.functions;
                Ok(Frame::Map(vec![
                    (b("running_script"), Frame::Null),
                    (
                        b("engines"),
                        Frame::Map(vec![(
                            b(crate::db::function::ENGINE_NAME),
                            Frame::Map(vec![
                                (
                                    b("libraries_count"),
                                    Frame::Integer(functions.library_count() as i64),
                                ),
                                (
                                    b("functions_count"),
                                    Frame::Integer(functions.function_count() as i64),
                                ),
                            ]),
                        )]),
                    ),
                ]))
            }
            FunctionCmd::Kill => Err(CmdError::Other(
                "NOTBUSY No scripts in execution right now.".into(),
            )),
            FunctionCmd::Help => Ok(super::command::help(
                "FUNCTION",
                super::server::FUNCTION_HELP,
            )),
        }
    }
}

fn fcall(ctx: &mut Ctx, c: FCall) -> Result<Frame, CmdError> {
    let Some((lib, f)) = ctx.store.scripts.functions.function(&c.name) else {
        return Err(CmdError::err("Function not found"));
    };
    let (id, fname, flags) = (lib.id, f.name.clone(), f.flags);
    let Some(numkeys) = super::parse_i64(&c.numkeys) else {
        return Err(CmdError::err("Bad number of keys provided"));
    };
    if numkeys > c.rest.len() as i64 {
        return Err(CmdError::err(
            "Number of keys can't be greater than number of args",
        ));
    }
    if numkeys < 0 {
        return Err(CmdError::err("Number of keys can't be negative"));
    }
    if c.read_only && !flags.no_writes {
        return Err(CmdError::err(
            "Can not execute a script with write flag using *_ro command.",
        ));
    }
    // A function's own writes are logged command by command; FCALL itself never.
    ctx.propagate_nothing();
    let (keys, args) = c.rest.split_at(numkeys as usize);
    run_on_engine(ctx, false, flags.no_writes, flags, |engine, host| {
        let run = FunctionRun {
            name: &fname,
            keys,
            args,
            caller_proto: host.caller_proto(),
        };
        engine.call_function(id, run, host)
    })
}
