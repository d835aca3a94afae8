//! Function libraries (FUNCTION LOAD, FCALL) on an interpreter of their own.
//!
//! A library's code runs once, in the loading mode of the prelude's `fenv` (only
//! `redis.register_function`, `redis.log` and the constants), under a 500 ms budget for a
//! client's FUNCTION LOAD, as Redis's `luaEngineCreate`; what it registers is kept here by
//! library id, and its functions later run in the interpreter's normal mode.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use mlua::{Function, HookTriggers, Lua, MultiValue, Table, Value, VmState};
use redish_core::db::function::{valid_name, BAD_NAME};
use redish_core::db::{LibraryId, RegisteredFunction, ScriptFlags};

use super::{fail, interpreter, redis_constants, Raised};

/// Redis stops a library's loading code after this long (`LOAD_TIMEOUT_MS`).
const LOAD_TIMEOUT: Duration = Duration::from_millis(500);
/// The loading hook looks at the clock every this many instructions, as Redis's.
const HOOK_EVERY: u32 = 100_000;

/// What the library being loaded registered so far.
type Staged = Arc<Mutex<Vec<(RegisteredFunction, Function)>>>;

/// The functions' interpreter and the libraries loaded into it.
pub(crate) struct Functions {
    lua: Lua,
    bridge: Table,
    staged: Staged,
    libs: HashMap<LibraryId, HashMap<Bytes, Function>>,
    next_id: LibraryId,
}

impl Functions {
    /// A fresh interpreter with no library.
    pub(crate) fn new(rand: &Arc<std::sync::atomic::AtomicU64>) -> Functions {
        let staged: Staged = Arc::default();
        let fill = |lua: &Lua, redis: &Table| load_api(lua, redis, &staged);
        let (lua, bridge) =
            interpreter(rand, Some(&fill)).expect("the prelude runs on a fresh interpreter");
        Functions {
            lua,
            bridge,
            staged,
            libs: HashMap::new(),
            next_id: 1,
        }
    }

    pub(crate) fn interp(&self) -> (&Lua, &Table) {
        (&self.lua, &self.bridge)
    }

    pub(crate) fn used_memory(&self) -> usize {
        self.lua.used_memory()
    }

    pub(crate) fn get(&self, lib: LibraryId, name: &[u8]) -> Option<Function> {
        self.libs.get(&lib)?.get(name).cloned()
    }

    pub(crate) fn drop_library(&mut self, lib: LibraryId) {
        self.libs.remove(&lib);
    }

    /// Compiles and runs a library's code; what it registered.
    pub(crate) fn load(
        &mut self,
        body: &[u8],
        timeout: bool,
    ) -> Result<(LibraryId, Vec<RegisteredFunction>), String> {
        let env: Table = self.bridge.raw_get("fenv").map_err(|e| e.to_string())?;
        let chunk = self
            .lua
            .load(body)
            .set_name("@user_function")
            .set_environment(env)
            .into_function()
            .map_err(|e| {
                let msg = match e {
                    mlua::Error::SyntaxError { message, .. } => message,
                    e => e.to_string(),
                };
                format!("Error compiling function: {msg}")
            })?;
        self.staged.lock().expect("not poisoned").clear();
        if timeout {
            let start = Instant::now();
            self.lua.set_hook(
                HookTriggers::new().every_nth_instruction(HOOK_EVERY),
                move |_, _| {
                    if start.elapsed() > LOAD_TIMEOUT {
                        return Err(mlua::Error::external(Raised {
                            line: "ERR FUNCTION LOAD timeout".into(),
                            counted: false,
                        }));
                    }
                    Ok(VmState::Continue)
                },
            );
        }
        let ran = self
            .bridge
            .raw_get::<Function>("load")
            .and_then(|load| load.call::<(bool, Value)>(chunk));
        self.lua.remove_hook();
        let staged = std::mem::take(&mut *self.staged.lock().expect("not poisoned"));
        match ran {
            Ok((true, _)) => {}
            Ok((false, err)) => {
                let e = super::convert::ScriptError::from_value(&err);
                return Err(format!("Error registering functions: {}", e.message()));
            }
            Err(e) => return Err(format!("Error registering functions: {e}")),
        }
        let id = self.next_id;
        self.next_id += 1;
        let mut registered = Vec::with_capacity(staged.len());
        let mut compiled = HashMap::with_capacity(staged.len());
        for (f, callback) in staged {
            compiled.insert(f.name.clone(), callback);
            registered.push(f);
        }
        self.libs.insert(id, compiled);
        Ok((id, registered))
    }
}

/// The `redis` table a library's loading code sees.
fn load_api(lua: &Lua, redis: &Table, staged: &Staged) -> mlua::Result<()> {
    redis_constants(redis)?;
    let staged = staged.clone();
    redis.raw_set(
        "register_function",
        lua.create_function(move |lua, args: MultiValue| {
            let (f, callback) = register_args(lua, &args)?;
            if !valid_name(&f.name) {
                return fail(BAD_NAME);
            }
            let mut staged = staged.lock().expect("not poisoned");
            if staged.iter().any(|(g, _)| g.name == f.name) {
                return fail("Function already exists in the library");
            }
            staged.push((f, callback));
            Ok(())
        })?,
    )?;
    redis.raw_set(
        "log",
        lua.create_function(|lua, args: MultiValue| {
            if args.len() < 2 {
                return fail("redis.log() requires two arguments or more.");
            }
            let level = match args.front() {
                Some(Value::Integer(i)) => *i as f64,
                Some(Value::Number(n)) => *n,
                _ => return fail("First argument must be a number (log level)."),
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
            let line = String::from_utf8_lossy(&line);
            match level as u8 {
                0 => tracing::debug!(target: "redis.log", "{line}"),
                1 | 2 => tracing::info!(target: "redis.log", "{line}"),
                _ => tracing::warn!(target: "redis.log", "{line}"),
            }
            Ok(())
        })?,
    )?;
    Ok(())
}

/// A string argument as Lua's `lua_isstring` takes it: a string or a number.
fn lua_string(lua: &Lua, v: &Value) -> mlua::Result<Option<Bytes>> {
    Ok(match v {
        Value::String(_) | Value::Integer(_) | Value::Number(_) => lua
            .coerce_string(v.clone())?
            .map(|s| Bytes::copy_from_slice(&s.as_bytes())),
        _ => None,
    })
}

/// `redis.register_function(name, callback)` or `redis.register_function{function_name =
/// …, callback = …, description = …, flags = {…}}`, with Redis's errors.
fn register_args(lua: &Lua, args: &MultiValue) -> mlua::Result<(RegisteredFunction, Function)> {
    let flags = ScriptFlags {
        shebang: true,
        ..ScriptFlags::default()
    };
    match args.len() {
        1 => {}
        2 => {
            let Some(name) = lua_string(lua, &args[0])? else {
                return fail("first argument to redis.register_function must be a string");
            };
            let Value::Function(callback) = &args[1] else {
                return fail("second argument to redis.register_function must be a function");
            };
            let f = RegisteredFunction {
                name,
                description: None,
                flags,
            };
            return Ok((f, callback.clone()));
        }
        _ => return fail("wrong number of arguments to redis.register_function"),
    }
    let Value::Table(t) = &args[0] else {
        return fail("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).");
    };
    let mut name = None;
    let mut description = None;
    let mut callback = None;
    let mut flags = flags;
    for pair in t.clone().pairs::<Value, Value>() {
        let (k, v) = pair?;
        let Some(key) = lua_string(lua, &k)? else {
            return fail("named argument key given to redis.register_function is not a string");
        };
        if key.eq_ignore_ascii_case(b"function_name") {
            let Some(s) = lua_string(lua, &v)? else {
                return fail(
                    "function_name argument given to redis.register_function must be a string",
                );
            };
            name = Some(s);
        } else if key.eq_ignore_ascii_case(b"description") {
            let Some(s) = lua_string(lua, &v)? else {
                return fail(
                    "description argument given to redis.register_function must be a string",
                );
            };
            description = Some(s);
        } else if key.eq_ignore_ascii_case(b"callback") {
            let Value::Function(f) = v else {
                return fail(
                    "callback argument given to redis.register_function must be a function",
                );
            };
            callback = Some(f);
        } else if key.eq_ignore_ascii_case(b"flags") {
            let Value::Table(list) = v else {
                return fail("flags argument to redis.register_function must be a table representing function flags");
            };
            read_flags(lua, &list, &mut flags)?;
        } else {
            return fail("unknown argument given to redis.register_function");
        }
    }
    let Some(name) = name else {
        return fail("redis.register_function must get a function name argument");
    };
    let Some(callback) = callback else {
        return fail("redis.register_function must get a callback argument");
    };
    Ok((
        RegisteredFunction {
            name,
            description,
            flags,
        },
        callback,
    ))
}

/// The `flags` list: `t[1]`, `t[2]` … up to the first nil, each a flag name in any case.
fn read_flags(lua: &Lua, list: &Table, flags: &mut ScriptFlags) -> mlua::Result<()> {
    for i in 1.. {
        let v: Value = list.get(i)?;
        if v.is_nil() {
            break;
        }
        let Some(flag) = lua_string(lua, &v)? else {
            return fail("unknown flag given");
        };
        let flag = flag.to_ascii_lowercase();
        match &flag[..] {
            b"no-writes" => flags.no_writes = true,
            b"allow-oom" => flags.allow_oom = true,
            b"allow-stale" => flags.allow_stale = true,
            b"no-cluster" => flags.no_cluster = true,
            b"allow-cross-slot-keys" => flags.allow_cross_slot = true,
            _ => return fail("unknown flag given"),
        }
    }
    Ok(())
}
