//! Lua scripting for redish: the [`ScriptEngine`] of EVAL, EVALSHA and SCRIPT, on Lua 5.1 as
//! Redis embeds it.
//!
//! The engine is `mlua` with its vendored Lua 5.1: scripts written for Redis rely on 5.1's
//! semantics (no integers, `unpack`, `getn`-era tables), and a vendored build needs no
//! system library. It lives in its own crate so that `redish-core` stays a light parser
//! crate; the server plugs it in with [`redish_core::Store::set_script_engine`].
//!
//! What a script sees is Redis 7.0's environment (`prelude.lua`): the base, table, string
//! and math libraries without `print`, `loadfile`, `dofile`, `setfenv`/`getfenv`; read-only
//! globals and library tables (`Script attempted to access nonexistent global variable`,
//! `Attempt to modify a readonly table`); `KEYS` and `ARGV`; the `redis` table; `bit`; and
//! `math.random` on Redis's own 48-bit generator, so a script draws the same numbers here as
//! on redis-server. Values cross between RESP and Lua by Redis's rules, both ways
//! (`convert.rs`).

mod bit;
mod cjson;
mod cmsgpack;
mod convert;
mod struct_lib;

mod function;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use mlua::{Function, Lua, LuaOptions, MultiValue, StdLib, Table, Value};
use redish_core::db::script_watch::KILLED;
use redish_core::db::{
    FunctionRun, LibraryId, RegisteredFunction, ScriptEngine, ScriptHost, ScriptReply, ScriptRun,
    ScriptSha, ScriptWatch,
};
use redish_core::resp::{Frame, Protocol};

const PRELUDE: &str = include_str!("prelude.lua");

/// Redis's version, as `redis.REDIS_VERSION` and `REDIS_VERSION_NUM` give it.
const REDIS_VERSION: &str = "7.0.15";
const REDIS_VERSION_NUM: u32 = 0x07_00_0f;

/// The Lua engine: one interpreter and the compiled scripts for EVAL, another for the
/// function libraries (as Redis keeps them apart: SCRIPT FLUSH and FUNCTION FLUSH each
/// start their own afresh).
pub struct LuaEngine {
    lua: Lua,
    /// The prelude's bridge table: `run`, `env`, and the `call` slot each run fills.
    bridge: Table,
    /// Keyed by the hex SHA1, with foldhash (as core's own script cache).
    scripts: HashMap<ScriptSha, Function, foldhash::fast::RandomState>,
    /// `math.random`'s generator: Redis's `redisLrand48` state, kept across SCRIPT FLUSH
    /// (it is process state in Redis too).
    rand: Arc<AtomicU64>,
    /// The store's view of the running script: SCRIPT KILL sets its flag, the instruction
    /// hook reads it.
    watch: Option<Arc<ScriptWatch>>,
    /// The functions' interpreter and libraries.
    functions: function::Functions,
}

impl std::fmt::Debug for LuaEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LuaEngine")
            .field("scripts", &self.scripts.len())
            .finish()
    }
}

impl Default for LuaEngine {
    fn default() -> Self {
        LuaEngine::new()
    }
}

impl LuaEngine {
    /// A fresh interpreter with Redis's libraries and sandbox.
    pub fn new() -> LuaEngine {
        let rand = Arc::new(AtomicU64::new(LRAND48_START));
        let (lua, bridge) =
            interpreter(&rand, None).expect("the prelude runs on a fresh interpreter");
        let functions = function::Functions::new(&rand);
        LuaEngine {
            lua,
            bridge,
            scripts: HashMap::default(),
            rand,
            watch: None,
            functions,
        }
    }

    /// Both interpreters check for SCRIPT KILL / FUNCTION KILL (see [`kill_hook`]).
    fn install_hooks(&self) {
        if let Some(watch) = &self.watch {
            kill_hook(&self.lua, watch.clone());
            kill_hook(self.functions.interp().0, watch.clone());
        }
    }

    /// The running script or function was asked to stop.
    fn killed(&self) -> bool {
        self.watch.as_ref().is_some_and(|w| w.kill_requested())
    }
}

/// Checks for a kill every [`HOOK_INSTRUCTIONS`] instructions, as Redis's
/// `luaMaskCountHook`. Once killed, the hook fires on every line too, so that a script
/// catching the error with `pcall` fails again at once and cannot go on.
fn kill_hook(lua: &Lua, watch: Arc<ScriptWatch>) {
    let every = mlua::HookTriggers::new().every_nth_instruction(HOOK_INSTRUCTIONS);
    lua.set_hook(every, move |lua, debug| {
        watch.running_long();
        if !watch.kill_requested() || in_prelude(&debug) {
            return Ok(mlua::VmState::Continue);
        }
        let watch = watch.clone();
        let always = mlua::HookTriggers::new()
            .every_line()
            .every_nth_instruction(1);
        lua.set_hook(always, move |_, debug| {
            if watch.kill_requested() && !in_prelude(&debug) {
                Err(killed())
            } else {
                Ok(mlua::VmState::Continue)
            }
        });
        Err(killed())
    });
}

/// How often a running script checks whether it was killed (Redis: 100,000).
const HOOK_INSTRUCTIONS: u32 = 100_000;

/// True in the prelude's own code (its runner and error handler), which must go on to
/// report the kill as the script's error.
fn in_prelude(debug: &mlua::Debug<'_>) -> bool {
    debug.source().source.as_deref() == Some("=redish")
}

fn killed() -> mlua::Error {
    mlua::Error::external(Raised {
        line: KILLED.to_owned(),
        counted: false,
    })
}

/// The state `redisLrand48` starts from (its `X2:X1:X0`).
const LRAND48_START: u64 = 0x1234_abcd_330e;

/// One step of the 48-bit generator: its next 31-bit output.
fn lrand48(state: &AtomicU64) -> i32 {
    let x = state.load(Ordering::Relaxed);
    let next = x.wrapping_mul(0x5_deec_e66d).wrapping_add(0xb) & ((1 << 48) - 1);
    state.store(next, Ordering::Relaxed);
    (next >> 17) as i32
}

/// Fills a table of an interpreter being made.
type FillTable<'a> = dyn Fn(&Lua, &Table) -> mlua::Result<()> + 'a;

/// A fresh interpreter with Redis's libraries and sandbox. `load_redis`: this one runs
/// function libraries, and the function fills the `redis` table their loading code sees.
fn interpreter(
    rand: &Arc<AtomicU64>,
    load_redis: Option<&FillTable<'_>>,
) -> mlua::Result<(Lua, Table)> {
    // The debug library is "unsafe" to mlua; the prelude keeps it for the error handler
    // alone and removes it from the scripts' globals, as Redis does.
    let lua = unsafe {
        Lua::unsafe_new_with(
            StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG,
            LuaOptions::new(),
        )
    };
    let globals = lua.globals();
    let redis = lua.create_table()?;
    let bridge = lua.create_table()?;
    redis_api(&lua, &redis, &bridge)?;
    let slot = Arc::new(RunSlot::default());
    redis_run_api(&lua, &redis, &slot)?;
    lua.set_app_data(slot);
    math_random(&lua, &globals.raw_get("math")?, rand)?;
    globals.raw_set("redis", redis.clone())?;
    globals.raw_set("bit", bit::library(&lua)?)?;
    globals.raw_set("cjson", cjson::library(&lua)?)?;
    globals.raw_set("cmsgpack", cmsgpack::library(&lua)?)?;
    globals.raw_set("struct", struct_lib::library(&lua)?)?;
    bridge.raw_set("redis", redis)?;
    if let Some(fill) = load_redis {
        let t = lua.create_table()?;
        fill(&lua, &t)?;
        bridge.raw_set("load_redis", t)?;
    }
    lua.load(PRELUDE)
        .set_name("=redish")
        .call::<()>((bridge.clone(), globals))?;
    Ok((lua, bridge))
}

/// An error a Rust function of the `redis` table raises: Redis raises a table
/// (`{err = line}`), which mlua cannot, so this travels as the Lua error and the error
/// handler turns it back into that table (`bridge.unwrap`).
#[derive(Debug, Clone)]
struct Raised {
    line: String,
    counted: bool,
}

impl std::fmt::Display for Raised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.line)
    }
}

impl std::error::Error for Raised {}

/// Raises Redis's error for `msg` (`ERR ` is prefixed as `luaPushError` does).
fn fail<T>(msg: &str) -> mlua::Result<T> {
    Err(mlua::Error::external(Raised {
        line: format!("ERR {msg}"),
        counted: false,
    }))
}

fn number(v: Option<&Value>) -> Option<f64> {
    match v {
        Some(Value::Integer(i)) => Some(*i as f64),
        Some(Value::Number(n)) => Some(*n),
        Some(Value::String(s)) => std::str::from_utf8(&s.as_bytes()).ok()?.trim().parse().ok(),
        _ => None,
    }
}

/// The parts of the `redis` table (and the bridge functions) that need no running script.
/// `REDIS_VERSION`, `REDIS_VERSION_NUM` and the `LOG_*` levels.
fn redis_constants(redis: &Table) -> mlua::Result<()> {
    redis.raw_set("REDIS_VERSION", REDIS_VERSION)?;
    redis.raw_set("REDIS_VERSION_NUM", REDIS_VERSION_NUM)?;
    for (name, level) in [
        ("LOG_DEBUG", 0),
        ("LOG_VERBOSE", 1),
        ("LOG_NOTICE", 2),
        ("LOG_WARNING", 3),
    ] {
        redis.raw_set(name, level)?;
    }
    Ok(())
}

fn redis_api(lua: &Lua, redis: &Table, bridge: &Table) -> mlua::Result<()> {
    redis_constants(redis)?;
    for (name, flags) in [
        ("REPL_NONE", 0),
        ("REPL_AOF", 1),
        ("REPL_SLAVE", 2),
        ("REPL_REPLICA", 2),
        ("REPL_ALL", 3),
    ] {
        redis.raw_set(name, flags)?;
    }
    bridge.raw_set(
        "unwrap",
        lua.create_function(|lua, err: mlua::Error| {
            // The error itself, under mlua's wrapping of a callback's failure.
            let mut e = &err;
            while let mlua::Error::CallbackError { cause, .. } = e {
                e = cause.as_ref();
            }
            let msg = match e {
                mlua::Error::ExternalError(x) => match x.downcast_ref::<Raised>() {
                    Some(r) => return Ok((convert::error_table(lua, &r.line, r.counted)?, false)),
                    None => x.to_string(),
                },
                mlua::Error::RuntimeError(m) => m.clone(),
                e => e.to_string(),
            };
            Ok((Value::String(lua.create_string(msg)?), true))
        })?,
    )?;
    redis.raw_set(
        "sha1hex",
        lua.create_function(|lua, args: MultiValue| {
            if args.len() != 1 {
                return fail("wrong number of arguments");
            }
            let body = match lua.coerce_string(args[0].clone())? {
                Some(s) => s.as_bytes().to_vec(),
                None => Vec::new(),
            };
            let sha = redish_core::cmd::sha1_hex(&body);
            lua.create_string(sha)
        })?,
    )?;
    redis.raw_set(
        "error_reply",
        lua.create_function(|lua, args: MultiValue| {
            let msg = match args.front() {
                Some(Value::String(s)) if args.len() == 1 => s.as_bytes().to_vec(),
                _ => return fail("wrong number or type of arguments"),
            };
            let text = String::from_utf8_lossy(&msg);
            let line = convert::error_line(text.strip_prefix('-').unwrap_or(&text));
            convert::error_table(lua, &line, false)
        })?,
    )?;
    redis.raw_set(
        "status_reply",
        lua.create_function(|lua, args: MultiValue| {
            let msg = match args.front() {
                Some(Value::String(s)) if args.len() == 1 => s.clone(),
                _ => return fail("wrong number or type of arguments"),
            };
            let t = lua.create_table()?;
            t.raw_set("ok", msg)?;
            Ok(t)
        })?,
    )?;
    // No debugger: breakpoint answers false and debug does nothing, as Redis outside LDB.
    redis.raw_set(
        "breakpoint",
        lua.create_function(|_, _: MultiValue| Ok(false))?,
    )?;
    redis.raw_set("debug", lua.create_function(|_, _: MultiValue| Ok(()))?)?;
    // Effects replication is the only mode of Redis 7.
    redis.raw_set(
        "replicate_commands",
        lua.create_function(|_, _: MultiValue| Ok(true))?,
    )?;
    Ok(())
}

/// Lua's name for the type of an argument (`no value` when it is missing).
pub(crate) fn type_name(v: Option<&Value>) -> &'static str {
    match v {
        None => "no value",
        Some(Value::Nil) => "nil",
        Some(Value::Boolean(_)) => "boolean",
        Some(Value::Integer(_) | Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Table(_)) => "table",
        Some(Value::Function(_)) => "function",
        Some(Value::Thread(_)) => "thread",
        Some(_) => "userdata",
    }
}

fn runtime<T>(msg: &str) -> mlua::Result<T> {
    Err(mlua::Error::runtime(msg))
}

/// `math.random` and `math.randomseed` on `redisLrand48`, as Redis replaces them.
fn math_random(lua: &Lua, math: &Table, rand: &Arc<AtomicU64>) -> mlua::Result<()> {
    let state = rand.clone();
    math.raw_set(
        "random",
        lua.create_function(move |_, args: MultiValue| {
            const MAX: f64 = i32::MAX as f64;
            let r = f64::from(lrand48(&state) % i32::MAX) / MAX;
            let arg = |i: usize| number(args.get(i)).map(f64::floor).ok_or(i);
            let bad = |i: usize| {
                runtime(&format!(
                    "bad argument #{} to 'random' (number expected, got {})",
                    i + 1,
                    type_name(args.get(i))
                ))
            };
            let n = match args.len() {
                0 => r,
                1 => match arg(0) {
                    Err(i) => return bad(i),
                    Ok(u) if u < 1.0 => {
                        return runtime("bad argument #1 to 'random' (interval is empty)")
                    }
                    Ok(u) => (r * u).floor() + 1.0,
                },
                2 => match (arg(0), arg(1)) {
                    (Ok(l), Ok(u)) if l <= u => (r * (u - l + 1.0)).floor() + l,
                    (Ok(_), Ok(_)) => {
                        return runtime("bad argument #2 to 'random' (interval is empty)")
                    }
                    (Err(i), _) | (_, Err(i)) => return bad(i),
                },
                _ => return runtime("wrong number of arguments"),
            };
            Ok(n)
        })?,
    )?;
    let state = rand.clone();
    math.raw_set(
        "randomseed",
        lua.create_function(move |_, args: MultiValue| {
            let Some(seed) = number(args.front()) else {
                return runtime("bad argument #1 to 'randomseed' (number expected)");
            };
            let seed = seed as i64 as i32 as u32;
            state.store((u64::from(seed) << 16) | 0x330e, Ordering::Relaxed);
            Ok(())
        })?,
    )?;
    Ok(())
}

impl ScriptEngine for LuaEngine {
    fn load(&mut self, sha: &ScriptSha, body: &[u8]) -> Result<(), String> {
        let env: Table = self.bridge.raw_get("env").map_err(|e| format!("ERR {e}"))?;
        let f = self
            .lua
            .load(body)
            .set_name("@user_script")
            .set_environment(env)
            .into_function()
            .map_err(|e| {
                let msg = match e {
                    mlua::Error::SyntaxError { message, .. } => message,
                    e => e.to_string(),
                };
                format!("ERR Error compiling script (new function): {msg}")
            })?;
        self.scripts.insert(*sha, f);
        Ok(())
    }

    fn run(&mut self, run: ScriptRun<'_>, host: &mut dyn ScriptHost) -> ScriptReply {
        let Some(f) = self.scripts.get(run.sha).cloned() else {
            return ScriptReply {
                frame: Frame::Error("NOSCRIPT No matching script. Please use EVAL.".into()),
                error_counted: false,
            };
        };
        let sha = String::from_utf8_lossy(run.sha).into_owned();
        let entry = Entry::Script {
            keys: run.keys,
            argv: run.argv,
        };
        let result = run_script((&self.lua, &self.bridge), &f, entry, run.caller_proto, host);
        if self.killed() {
            // Killed: the hook that fires on every line goes with the script.
            self.install_hooks();
        }
        reply(&sha, result, "ERR Error running script")
    }

    fn flush(&mut self) {
        self.scripts.clear();
        let (lua, bridge) =
            interpreter(&self.rand, None).expect("the prelude runs on a fresh interpreter");
        self.lua = lua;
        self.bridge = bridge;
        self.install_hooks();
    }

    fn used_memory(&self) -> usize {
        self.lua.used_memory()
    }

    fn watch(&mut self, watch: Arc<ScriptWatch>) {
        self.watch = Some(watch);
        self.install_hooks();
    }

    fn load_library(
        &mut self,
        body: &[u8],
        timeout: bool,
    ) -> Result<(LibraryId, Vec<RegisteredFunction>), String> {
        let loaded = self.functions.load(body, timeout);
        // The load's own timeout hook went with it.
        self.install_hooks();
        loaded
    }

    fn call_function(
        &mut self,
        lib: LibraryId,
        run: FunctionRun<'_>,
        host: &mut dyn ScriptHost,
    ) -> ScriptReply {
        let name = String::from_utf8_lossy(run.name).into_owned();
        let Some(f) = self.functions.get(lib, run.name) else {
            return ScriptReply {
                frame: Frame::Error("ERR Function not found".into()),
                error_counted: false,
            };
        };
        let entry = Entry::Function {
            keys: run.keys,
            args: run.args,
        };
        let interp = self.functions.interp();
        let result = run_script(interp, &f, entry, run.caller_proto, host);
        if self.killed() {
            self.install_hooks();
        }
        reply(&name, result, "ERR Error running function")
    }

    fn drop_library(&mut self, lib: LibraryId) {
        self.functions.drop_library(lib);
    }

    fn flush_functions(&mut self) {
        self.functions = function::Functions::new(&self.rand);
        self.install_hooks();
    }

    fn functions_memory(&self) -> usize {
        self.functions.used_memory()
    }
}

/// The reply of a run: its value, or its error with where the script was.
fn reply(
    name: &str,
    result: mlua::Result<Result<Frame, convert::ScriptError>>,
    failed: &str,
) -> ScriptReply {
    match result {
        Ok(Ok(frame)) => ScriptReply {
            frame,
            error_counted: false,
        },
        Ok(Err(e)) => ScriptReply {
            frame: Frame::Error(e.line(name).into()),
            error_counted: e.counted,
        },
        Err(e) => ScriptReply {
            frame: Frame::Error(format!("{failed} {name}, {e}").into()),
            error_counted: false,
        },
    }
}

/// What a run calls: a script (with `KEYS` and `ARGV` globals) or a function (with its keys
/// and arguments as parameters).
enum Entry<'a> {
    Script {
        keys: &'a [Bytes],
        argv: &'a [Bytes],
    },
    Function {
        keys: &'a [Bytes],
        args: &'a [Bytes],
    },
}

/// The run in progress on an interpreter: the host its `redis.call` reaches and the
/// protocol `redis.setresp` chose. The `redis` functions that need them are made once per
/// interpreter (made for every run, they cost more than a short script itself: callgrind
/// put them at 40% of an EVALSHA), and [`run_script`] lends them the host for one run.
#[derive(Default)]
struct RunSlot {
    host: Mutex<Option<HostPtr>>,
    resp3: AtomicBool,
}

/// A host lent to the interpreter, its lifetime erased: dereferenced only while a [`Lend`]
/// keeps it in the slot, on the thread that runs the script.
#[derive(Clone, Copy)]
struct HostPtr(*mut (dyn ScriptHost + 'static));

// SAFETY: see `HostPtr`: the pointer is only used during the run that lent it.
unsafe impl Send for HostPtr {}

impl RunSlot {
    /// Lends `host` until the returned guard drops.
    fn lend<'a>(&'a self, host: &'a mut dyn ScriptHost) -> Lend<'a> {
        let ptr: *mut (dyn ScriptHost + 'a) = host;
        // SAFETY: only the lifetime changes; `Lend` takes the pointer back before `'a` ends.
        let ptr: *mut (dyn ScriptHost + 'static) = unsafe { std::mem::transmute(ptr) };
        self.resp3.store(false, Ordering::Relaxed);
        let prev = self.host.lock().expect("slot").replace(HostPtr(ptr));
        Lend { slot: self, prev }
    }

    /// Runs `f` with the lent host; `None` outside a run.
    fn with_host<R>(&self, f: impl FnOnce(&mut dyn ScriptHost) -> R) -> Option<R> {
        let ptr = *self.host.lock().expect("slot");
        // SAFETY: a `Lend` holds the host for the run; `redis.call` cannot start another
        // script on this interpreter (EVAL and FCALL are refused in scripts).
        ptr.map(|p| f(unsafe { &mut *p.0 }))
    }

    fn resp(&self) -> Protocol {
        if self.resp3.load(Ordering::Relaxed) {
            Protocol::Resp3
        } else {
            Protocol::Resp2
        }
    }
}

/// A host lent to a [`RunSlot`]; dropping it takes the host back.
struct Lend<'a> {
    slot: &'a RunSlot,
    prev: Option<HostPtr>,
}

impl Drop for Lend<'_> {
    fn drop(&mut self) {
        *self.slot.host.lock().expect("slot") = self.prev;
    }
}

/// `redis.call`, `pcall`, `setresp`, `log`, `set_repl` and `acl_check_cmd`: the functions
/// that reach the run's host through `slot`.
fn redis_run_api(lua: &Lua, redis: &Table, slot: &Arc<RunSlot>) -> mlua::Result<()> {
    let outside = |name: &str| {
        fail::<Value>(&format!(
            "{name} can only be called inside a script invocation"
        ))
    };
    for (name, raise) in [("call", true), ("pcall", false)] {
        let slot = slot.clone();
        let f = lua.create_function(move |lua, args: MultiValue| -> mlua::Result<Value> {
            let failed = |line: String, counted: bool| {
                if raise {
                    Err(mlua::Error::external(Raised { line, counted }))
                } else {
                    convert::error_table(lua, &line, counted)
                }
            };
            let argv = match convert::command_args(&args) {
                Ok(argv) => argv,
                Err(msg) => return failed(format!("ERR {msg}"), false),
            };
            let resp = slot.resp();
            match slot.with_host(|host| host.call(argv, resp)) {
                Some(Ok(frame)) => convert::frame_to_lua(lua, &frame, resp),
                Some(Err(e)) => failed(e.text, e.counted),
                None => outside("redis.call/pcall"),
            }
        })?;
        redis.raw_set(name, f)?;
    }
    let s = slot.clone();
    let setresp = lua.create_function(move |_, args: MultiValue| {
        if args.len() != 1 {
            return fail("redis.setresp() requires one argument.");
        }
        match number(args.front()) {
            Some(2.0) => s.resp3.store(false, Ordering::Relaxed),
            Some(3.0) => s.resp3.store(true, Ordering::Relaxed),
            _ => return fail("RESP version must be 2 or 3."),
        }
        Ok(())
    })?;
    let s = slot.clone();
    let log = lua.create_function(move |lua, args: MultiValue| {
        if args.len() < 2 {
            return fail("redis.log() requires two arguments or more.");
        }
        let Some(level) = number(args.front()).filter(|_| !matches!(args[0], Value::String(_)))
        else {
            return fail("First argument must be a number (log level).");
        };
        if !(0.0..=3.0).contains(&level) {
            return fail("Invalid debug level.");
        }
        let mut line = Vec::new();
        for (i, a) in args.iter().skip(1).enumerate() {
            if i > 0 {
                line.push(b' ');
            }
            if let Some(s) = lua.coerce_string(a.clone())? {
                line.extend_from_slice(&s.as_bytes());
            }
        }
        s.with_host(|host| host.log(level as u8, &line));
        Ok(())
    })?;
    let s = slot.clone();
    let set_repl = lua.create_function(move |_, args: MultiValue| {
        if args.len() != 1 {
            return fail("redis.set_repl() requires one argument.");
        }
        match number(args.front()) {
            Some(flags) if (0.0..=3.0).contains(&flags) => {
                s.with_host(|host| host.set_repl(flags as u8));
                Ok(())
            }
            _ => fail(
                "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
            ),
        }
    })?;
    let s = slot.clone();
    let acl_check_cmd = lua.create_function(move |_, args: MultiValue| {
        let argv = match convert::command_args(&args) {
            Ok(argv) => argv,
            Err(msg) => return fail(msg),
        };
        match s.with_host(|host| host.acl_check(&argv)) {
            Some(Ok(allowed)) => Ok(allowed),
            Some(Err(line)) => Err(mlua::Error::external(Raised {
                line,
                counted: false,
            })),
            None => fail("redis.acl_check_cmd can only be called inside a script invocation"),
        }
    })?;
    redis.raw_set("setresp", setresp)?;
    redis.raw_set("log", log)?;
    redis.raw_set("set_repl", set_repl)?;
    redis.raw_set("acl_check_cmd", acl_check_cmd)?;
    Ok(())
}

/// Runs `f` (a script or a function: `entry`) on interpreter `interp` with a
/// `redis.call` bound to `host`: the reply, or the script's error (`Err` of the outer
/// result: the interpreter itself failed).
fn run_script(
    interp: (&Lua, &Table),
    f: &Function,
    entry: Entry<'_>,
    caller_proto: Protocol,
    host: &mut dyn ScriptHost,
) -> mlua::Result<Result<Frame, convert::ScriptError>> {
    let (lua, bridge) = interp;
    let call_args = match entry {
        Entry::Script { keys, argv } => {
            let globals = lua.globals();
            globals.raw_set("KEYS", convert::string_array(lua, keys)?)?;
            globals.raw_set("ARGV", convert::string_array(lua, argv)?)?;
            None
        }
        Entry::Function { keys, args } => Some((
            convert::string_array(lua, keys)?,
            convert::string_array(lua, args)?,
        )),
    };
    let slot = lua
        .app_data_ref::<Arc<RunSlot>>()
        .expect("interpreter() sets the run slot")
        .clone();
    let (ok, value): (bool, Value) = {
        let _lent = slot.lend(host);
        match call_args {
            Some((keys, args)) => {
                let call: Function = bridge.raw_get("call_function")?;
                call.call((f.clone(), keys, args))?
            }
            None => {
                let runner: Function = bridge.raw_get("run")?;
                runner.call(f.clone())?
            }
        }
    };
    if !ok {
        return Ok(Err(convert::ScriptError::from_value(&value)));
    }
    Ok(
        match convert::lua_to_frame(&value, caller_proto, slot.resp()) {
            Frame::Error(e) => Err(convert::ScriptError::returned(
                String::from_utf8_lossy(&e).into_owned(),
                convert::counted(&value),
            )),
            frame => Ok(frame),
        },
    )
}

/// A boxed engine, for [`redish_core::Store::set_script_engine`].
pub fn engine() -> Box<dyn ScriptEngine> {
    Box::new(LuaEngine::new())
}
