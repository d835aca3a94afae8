//! The seam between the keyspace and a script engine (EVAL, EVALSHA, SCRIPT …).
//!
//! redish-core is also a light parser crate, so it embeds no interpreter: an engine (the
//! `redish-lua` crate, on the Lua 5.1 Redis embeds) implements [`ScriptEngine`] and the
//! server plugs it into its store with [`super::Store::set_script_engine`]. Without one,
//! the scripting commands answer that scripting is not available.
//!
//! The engine owns the compiled scripts; core owns everything a script does to the data. A
//! running script reaches back through [`ScriptHost`], which runs each `redis.call` through
//! the executor with the script's caller flags, as Redis runs them for its Lua client.

use std::collections::HashMap;

use bytes::Bytes;

use super::function::{Functions, LibraryId, RegisteredFunction};
use crate::resp::{Frame, Protocol};

/// A script's SHA1 digest in lower-case hex: its name in the cache.
pub type ScriptSha = [u8; 40];

/// One run of a cached script.
#[derive(Debug)]
pub struct ScriptRun<'a> {
    /// The script's digest, for error texts (`script: <sha>, on @user_script:1.`).
    pub sha: &'a ScriptSha,
    /// The `KEYS` table.
    pub keys: &'a [Bytes],
    /// The `ARGV` table.
    pub argv: &'a [Bytes],
    /// The protocol of the client that called the script: the script's return value is
    /// converted to it.
    pub caller_proto: Protocol,
}

/// Why a `redis.call` failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallError {
    /// The whole error line, code first (`ERR …`), without `-`.
    pub text: String,
    /// The command ran and failed, so INFO errorstats counted the error already (not so
    /// for a refusal of the script's own checks).
    pub counted: bool,
}

/// What a running script may ask of the server.
pub trait ScriptHost {
    /// Runs one command for `redis.call` / `redis.pcall` and returns its reply, decoded, in
    /// the protocol the script chose with `redis.setresp` (`proto`). A refusal or a failure
    /// is an `Err`.
    fn call(&mut self, args: Vec<Bytes>, proto: Protocol) -> Result<Frame, CallError>;

    /// `redis.log(level, message)`: level 0 (debug) to 3 (warning), as Redis's `LL_*`.
    fn log(&mut self, level: u8, message: &[u8]);

    /// `redis.set_repl(flags)`: which of the following calls are replicated (bit 1: the
    /// AOF, bit 2: replicas; 3 both, 0 neither).
    fn set_repl(&mut self, flags: u8);

    /// `redis.acl_check_cmd(cmd, args…)`: whether the user who runs the script may run
    /// this command with these arguments (keys and channels included). `Err`: the error
    /// line of a request that names no command.
    fn acl_check(&mut self, args: &[Bytes]) -> Result<bool, String>;
}

/// A script engine: compiles, caches and runs scripts.
pub trait ScriptEngine: Send {
    /// Compiles `body` (from the end of its shebang line, if any: the newline stays, so
    /// line numbers count the shebang) and caches it under `sha`. `Err`: the
    /// whole error line, as Redis words it (`ERR Error compiling script (new function): …`).
    fn load(&mut self, sha: &ScriptSha, body: &[u8]) -> Result<(), String>;

    /// Runs the cached script `run.sha` (loaded before)
    /// and returns its reply, converted for `run.caller_proto`; a failed script returns a
    /// [`Frame::Error`].
    fn run(&mut self, run: ScriptRun<'_>, host: &mut dyn ScriptHost) -> ScriptReply;

    /// SCRIPT FLUSH: forgets every cached script and starts a fresh interpreter.
    fn flush(&mut self);

    /// Bytes the interpreter holds (INFO `used_memory_lua`).
    fn used_memory(&self) -> usize;

    /// Given once, when the engine is plugged in: the running script's watch. The engine
    /// checks [`super::ScriptWatch::kill_requested`] often while a script runs (Redis: every
    /// 100,000 instructions) and fails the script with
    /// [`super::script_watch::KILLED`] when it is set.
    fn watch(&mut self, watch: std::sync::Arc<super::ScriptWatch>) {
        let _ = watch;
    }

    /// Runs a library's code (from the end of its `#!lua name=…` line: the newline stays,
    /// so line numbers count it) in the loading environment Redis gives it, where only
    /// `redis.register_function`, `redis.log` and the version and log-level constants
    /// exist, and keeps the functions it registered under a new [`LibraryId`]. `timeout`:
    /// stop the code after 500 ms, as Redis does for a client's FUNCTION LOAD. `Err`: Redis's
    /// text without `ERR ` (`Error compiling function: …`, `Error registering functions: …`).
    fn load_library(
        &mut self,
        body: &[u8],
        timeout: bool,
    ) -> Result<(LibraryId, Vec<RegisteredFunction>), String>;

    /// Calls function `run.name` of library `lib` with its keys and arguments.
    fn call_function(
        &mut self,
        lib: LibraryId,
        run: FunctionRun<'_>,
        host: &mut dyn ScriptHost,
    ) -> ScriptReply;

    /// Forgets a library's compiled code.
    fn drop_library(&mut self, lib: LibraryId);

    /// FUNCTION FLUSH: forgets every library and starts a fresh interpreter for functions
    /// (functions run in an interpreter of their own, apart from EVAL's, as in Redis).
    fn flush_functions(&mut self);

    /// Bytes the functions' interpreter holds (INFO `used_memory_vm_functions`).
    fn functions_memory(&self) -> usize;
}

/// One call of a function (FCALL, FCALL_RO).
#[derive(Debug)]
pub struct FunctionRun<'a> {
    /// The function's name as registered, for error texts (`script: <name>, on
    /// @user_function:1.`).
    pub name: &'a [u8],
    /// The keys: the function's first argument.
    pub keys: &'a [Bytes],
    /// The other arguments: its second.
    pub args: &'a [Bytes],
    /// The protocol of the client that called: the function's return value is converted
    /// to it.
    pub caller_proto: Protocol,
}

/// What a script's shebang line (`#!lua flags=no-writes,allow-oom`) declares.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScriptFlags {
    /// The script has a shebang: Redis checks its flags instead of the command's.
    pub shebang: bool,
    /// `no-writes`: a read-only script.
    pub no_writes: bool,
    /// `allow-oom`: may run (and write) over `maxmemory`.
    pub allow_oom: bool,
    /// `allow-stale`: may run on a stale replica.
    pub allow_stale: bool,
    /// `no-cluster`: refused in cluster mode.
    pub no_cluster: bool,
    /// `allow-cross-slot-keys`.
    pub allow_cross_slot: bool,
}

impl ScriptFlags {
    /// Reads the shebang line of `body`, if it has one, with Redis's errors. Returns the
    /// flags and the length of the shebang line (without its newline), which the engine
    /// skips so that line numbers still count it.
    pub fn parse(body: &[u8]) -> Result<(ScriptFlags, usize), String> {
        if !body.starts_with(b"#!") {
            return Ok((ScriptFlags::default(), 0));
        }
        let Some(len) = memchr::memchr(b'\n', body) else {
            return Err("ERR Invalid script shebang".into());
        };
        let line = String::from_utf8_lossy(&body[..len]);
        let mut parts = line.split_ascii_whitespace();
        let engine = parts.next().unwrap_or("#!");
        if engine != "#!lua" {
            return Err(format!("ERR Unexpected engine in script shebang: {engine}"));
        }
        let mut flags = ScriptFlags {
            shebang: true,
            ..ScriptFlags::default()
        };
        for part in parts {
            let Some(list) = part.strip_prefix("flags=") else {
                return Err(format!("ERR Unknown lua shebang option: {part}"));
            };
            for flag in list.split(',').filter(|f| !f.is_empty()) {
                match flag {
                    "no-writes" => flags.no_writes = true,
                    "allow-oom" => flags.allow_oom = true,
                    "allow-stale" => flags.allow_stale = true,
                    "no-cluster" => flags.no_cluster = true,
                    "allow-cross-slot-keys" => flags.allow_cross_slot = true,
                    _ => return Err(format!("ERR Unexpected flag in script shebang: {flag}")),
                }
            }
        }
        Ok((flags, len))
    }
}

/// A script's reply.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptReply {
    /// The reply, converted for the caller's protocol; a failed script gives a
    /// [`Frame::Error`].
    pub frame: Frame,
    /// The error was already counted in INFO errorstats (it came from a `redis.call` that
    /// failed): the script's own failure counts in `failed_calls` only, as in Redis.
    pub error_counted: bool,
}

/// A cached script, as core knows it (the engine holds its compiled form).
#[derive(Debug, Clone, Copy)]
pub struct CachedScript {
    /// Its shebang flags.
    pub flags: ScriptFlags,
    /// The body's length, for INFO `used_memory_scripts`.
    pub body_len: usize,
}

/// The store's script cache: the engine, and what core knows of each script.
#[derive(Default)]
pub struct Scripts {
    engine: Option<Box<dyn ScriptEngine>>,
    /// Keyed by the hex SHA1: foldhash, as the keyspace (SipHash over 40 bytes was a
    /// visible part of a short EVALSHA's cost).
    cache: HashMap<ScriptSha, CachedScript, foldhash::fast::FixedState>,
    body_bytes: usize,
    /// The function libraries (FUNCTION LOAD), which run on the same engine.
    pub functions: Functions,
}

impl std::fmt::Debug for Scripts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scripts")
            .field("engine", &self.engine.is_some())
            .field("cached", &self.cache.len())
            .field("libraries", &self.functions.library_count())
            .finish()
    }
}

impl Scripts {
    /// Plugs an engine in (the server does at start).
    pub fn set_engine(&mut self, engine: Box<dyn ScriptEngine>) {
        self.engine = Some(engine);
    }

    /// The engine, if one is plugged in.
    pub fn engine_mut(&mut self) -> Option<&mut (dyn ScriptEngine + 'static)> {
        self.engine.as_deref_mut()
    }

    /// Takes the engine out while a script runs (the script needs the store itself); give
    /// it back with [`Scripts::put_engine`].
    pub fn take_engine(&mut self) -> Option<Box<dyn ScriptEngine>> {
        self.engine.take()
    }

    /// Gives back what [`Scripts::take_engine`] took.
    pub fn put_engine(&mut self, engine: Box<dyn ScriptEngine>) {
        self.engine = Some(engine);
    }

    /// True if a script of this digest is cached.
    pub fn contains(&self, sha: &ScriptSha) -> bool {
        self.cache.contains_key(sha)
    }

    /// The cached script of this digest.
    pub fn get(&self, sha: &ScriptSha) -> Option<&CachedScript> {
        self.cache.get(sha)
    }

    /// Records a script the engine compiled.
    pub fn insert(&mut self, sha: ScriptSha, script: CachedScript) {
        self.body_bytes += script.body_len;
        if let Some(old) = self.cache.insert(sha, script) {
            self.body_bytes -= old.body_len;
        }
    }

    /// SCRIPT FLUSH.
    pub fn flush(&mut self) {
        self.cache = HashMap::default();
        self.body_bytes = 0;
        if let Some(engine) = &mut self.engine {
            engine.flush();
        }
    }

    /// INFO `number_of_cached_scripts`.
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    /// True if no script is cached.
    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }

    /// INFO `used_memory_scripts`: the bodies and the cache's own entries.
    pub fn memory(&self) -> usize {
        self.body_bytes + self.cache.capacity() * (std::mem::size_of::<CachedScript>() + 40)
    }

    /// INFO `used_memory_lua`.
    pub fn engine_memory(&self) -> usize {
        self.engine.as_ref().map_or(0, |e| e.used_memory())
    }

    /// INFO `used_memory_vm_functions`.
    pub fn functions_engine_memory(&self) -> usize {
        self.engine.as_ref().map_or(0, |e| e.functions_memory())
    }

    /// The engine and the function registry together, for FUNCTION LOAD and its kin.
    pub fn functions_mut(&mut self) -> Option<(&mut (dyn ScriptEngine + 'static), &mut Functions)> {
        let engine = self.engine.as_deref_mut()?;
        Some((engine, &mut self.functions))
    }
}
