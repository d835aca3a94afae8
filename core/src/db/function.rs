//! Redis Functions (FUNCTION LOAD, FCALL …): the library registry.
//!
//! A library is the source a client loaded (`#!lua name=<lib>` and Lua code); running that
//! code registers its functions (`redis.register_function`). Core keeps the registry — each
//! library's name, source and functions with their flags and descriptions, and the index
//! from function name to library — and the [`super::ScriptEngine`] keeps the compiled code,
//! named by a [`LibraryId`] core hands back to it for every call. Core knows nothing of Lua.
//!
//! The rules are Redis 7.0's (`functions.c`): library names are case-sensitive and function
//! names are looked up without regard to case across libraries; a library that registers no
//! function, or one whose name another library already has, is refused and leaves the
//! registry as it was; REPLACE swaps a library atomically.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;

use super::script::{ScriptEngine, ScriptFlags};

/// The engine's name for one loaded library's compiled code.
pub type LibraryId = u64;

/// A function a library registered, as the engine reports it after running the library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredFunction {
    /// Its name (letters, digits and `_`, checked by the engine as it registers).
    pub name: Bytes,
    /// `description`, from the table form of `redis.register_function`.
    pub description: Option<Bytes>,
    /// `flags`, from the table form. `shebang` is always set: a function's flags are always
    /// honoured (there is no EVAL compatibility mode for functions).
    pub flags: ScriptFlags,
}

/// A loaded library.
#[derive(Debug, Clone)]
pub struct Library {
    /// Its name, from the `#!lua name=…` header.
    pub name: Bytes,
    /// The whole source as loaded, header included: what FUNCTION LIST WITHCODE, FUNCTION
    /// DUMP, the RDB and the AOF rewrite give back.
    pub code: Bytes,
    /// The engine's name for its compiled code.
    pub id: LibraryId,
    /// Its functions, in registration order.
    pub functions: Vec<RegisteredFunction>,
}

/// What the `#!<engine> name=<library>` first line of a library says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryHeader {
    /// The engine's name as written (`lua`; matched without regard to case).
    pub engine: Bytes,
    /// The library's name, not yet checked.
    pub name: Bytes,
    /// Where the code after the header starts: the header's newline, which the engine
    /// keeps so that line numbers count the header.
    pub body_at: usize,
}

impl LibraryHeader {
    /// Reads the header of `code` with Redis's errors (`functionExtractLibMetaData`), without
    /// the `ERR ` prefix.
    pub fn parse(code: &Bytes) -> Result<LibraryHeader, String> {
        // Redis reads the code as a C string here: its header ends at a NUL too.
        let text_end = memchr::memchr(0, code).unwrap_or(code.len());
        if !code[..text_end].starts_with(b"#!") {
            return Err("Missing library metadata".into());
        }
        let Some(nl) = memchr::memchr(b'\n', &code[..text_end]) else {
            return Err("Invalid library metadata".into());
        };
        let parts = crate::resp::split_args(code, nl)
            .map_err(|_| String::from("Invalid library metadata"))?;
        let Some(first) = parts.first() else {
            return Err("Invalid library metadata".into());
        };
        let engine = first.slice(2.min(first.len())..);
        let mut name = None;
        for part in &parts[1..] {
            if part.len() >= 5 && part[..5].eq_ignore_ascii_case(b"name=") {
                if name.is_some() {
                    return Err(
                        "Invalid metadata value, name argument was given multiple times".into(),
                    );
                }
                name = Some(part.slice(5..));
                continue;
            }
            return Err(format!(
                "Invalid metadata value given: {}",
                String::from_utf8_lossy(part)
            ));
        }
        let Some(name) = name else {
            return Err("Library name was not given".into());
        };
        Ok(LibraryHeader {
            engine,
            name,
            body_at: nl,
        })
    }
}

/// Redis's rule for library and function names: one or more of `[a-zA-Z0-9_]`.
pub fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// The error Redis gives for a library or function name that breaks [`valid_name`].
pub const BAD_NAME: &str = "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

/// The one engine functions have.
pub const ENGINE_NAME: &str = "LUA";

/// What FUNCTION RESTORE does with the libraries already loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RestorePolicy {
    /// Delete them all first.
    Flush,
    /// Keep them; a library of the same name fails the restore.
    #[default]
    Append,
    /// Keep them; a library of the same name is replaced.
    Replace,
}

/// The loaded libraries.
#[derive(Debug, Default, Clone)]
pub struct Functions {
    libraries: BTreeMap<Bytes, Library>,
    /// Lower-cased function name → its library's name.
    index: HashMap<Vec<u8>, Bytes>,
}

fn folded(name: &[u8]) -> Vec<u8> {
    name.to_ascii_lowercase()
}

impl Functions {
    /// The libraries, by name.
    pub fn libraries(&self) -> impl Iterator<Item = &Library> {
        self.libraries.values()
    }

    /// The library of this name.
    pub fn library(&self, name: &[u8]) -> Option<&Library> {
        self.libraries.get(name)
    }

    /// The function of this name (any case) and its library.
    pub fn function(&self, name: &[u8]) -> Option<(&Library, &RegisteredFunction)> {
        let lib = self.libraries.get(self.index.get(&folded(name))?)?;
        let f = lib
            .functions
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))?;
        Some((lib, f))
    }

    /// INFO `number_of_libraries`.
    pub fn library_count(&self) -> usize {
        self.libraries.len()
    }

    /// INFO `number_of_functions`.
    pub fn function_count(&self) -> usize {
        self.index.len()
    }

    /// True if no library is loaded.
    pub fn is_empty(&self) -> bool {
        self.libraries.is_empty()
    }

    /// INFO `used_memory_functions`: what the registry holds (names, sources, descriptions,
    /// and the entries of its two maps).
    pub fn memory(&self) -> usize {
        let entry = std::mem::size_of::<Library>() + 2 * std::mem::size_of::<Bytes>();
        self.libraries
            .values()
            .map(|l| {
                entry
                    + l.name.len()
                    + l.code.len()
                    + l.functions
                        .iter()
                        .map(|f| {
                            std::mem::size_of::<RegisteredFunction>()
                                + 2 * f.name.len()
                                + f.description.as_ref().map_or(0, Bytes::len)
                                + std::mem::size_of::<Vec<u8>>()
                                + std::mem::size_of::<Bytes>()
                        })
                        .sum::<usize>()
            })
            .sum()
    }

    /// The first function of `lib` whose name another library (other than `except`) has.
    fn collision<'l>(&self, lib: &'l Library, except: Option<&[u8]>) -> Option<&'l Bytes> {
        lib.functions.iter().map(|f| &f.name).find(|n| {
            self.index
                .get(&folded(n))
                .is_some_and(|owner| Some(&owner[..]) != except)
        })
    }

    fn link(&mut self, lib: Library) {
        for f in &lib.functions {
            // Two names of one library that differ only in case: the first keeps the
            // index entry, as Redis's `dictAdd` into its case-insensitive table does.
            self.index
                .entry(folded(&f.name))
                .or_insert_with(|| lib.name.clone());
        }
        self.libraries.insert(lib.name.clone(), lib);
    }

    fn unlink(&mut self, name: &[u8]) -> Option<Library> {
        let lib = self.libraries.remove(name)?;
        for f in &lib.functions {
            let key = folded(&f.name);
            if self.index.get(&key).is_some_and(|owner| owner == &lib.name) {
                self.index.remove(&key);
            }
        }
        Some(lib)
    }

    /// Compiles and runs `code` on `engine` and adds the library it defines (replacing one
    /// of the same name if `replace`). `timeout`: a client's FUNCTION LOAD, which Redis
    /// stops after 500 ms; loading from the RDB or AOF has none. On error (Redis's text,
    /// without `ERR `) the registry is as it was.
    pub fn load(
        &mut self,
        engine: &mut dyn ScriptEngine,
        code: Bytes,
        replace: bool,
        timeout: bool,
    ) -> Result<Bytes, String> {
        let header = LibraryHeader::parse(&code)?;
        if !valid_name(&header.name) {
            return Err(BAD_NAME.into());
        }
        if !header.engine.eq_ignore_ascii_case(ENGINE_NAME.as_bytes()) {
            return Err(format!(
                "Engine '{}' not found",
                String::from_utf8_lossy(&header.engine)
            ));
        }
        if self.libraries.contains_key(&header.name) && !replace {
            return Err(format!(
                "Library '{}' already exists",
                String::from_utf8_lossy(&header.name)
            ));
        }
        let (id, functions) = engine.load_library(&code[header.body_at..], timeout)?;
        let lib = Library {
            name: header.name.clone(),
            code,
            id,
            functions,
        };
        if lib.functions.is_empty() {
            engine.drop_library(id);
            return Err("No functions registered".into());
        }
        if let Some(f) = self.collision(&lib, Some(&header.name)) {
            let err = format!("Function {} already exists", String::from_utf8_lossy(f));
            engine.drop_library(id);
            return Err(err);
        }
        if let Some(old) = self.unlink(&header.name) {
            engine.drop_library(old.id);
        }
        self.link(lib);
        Ok(header.name)
    }

    /// FUNCTION DELETE: false if there is no such library.
    pub fn delete(&mut self, engine: &mut dyn ScriptEngine, name: &[u8]) -> bool {
        match self.unlink(name) {
            Some(lib) => {
                engine.drop_library(lib.id);
                true
            }
            None => false,
        }
    }

    /// FUNCTION FLUSH: every library goes, and the engine starts a fresh interpreter for
    /// functions (as Redis re-creates its engines).
    pub fn flush(&mut self, engine: &mut dyn ScriptEngine) {
        *self = Functions::default();
        engine.flush_functions();
    }

    /// Adds the libraries of `staged` (loaded on the same engine) by `policy`, as FUNCTION
    /// RESTORE does (`libraryJoin`). On error (Redis's text) nothing changes here and the
    /// staged libraries are dropped from the engine.
    pub fn join(
        &mut self,
        engine: &mut dyn ScriptEngine,
        staged: Functions,
        policy: RestorePolicy,
    ) -> Result<(), String> {
        if policy == RestorePolicy::Flush {
            for lib in std::mem::take(&mut self.libraries).into_values() {
                engine.drop_library(lib.id);
            }
            *self = staged;
            return Ok(());
        }
        let mut replaced = Vec::new();
        let mut failed = None;
        for name in staged.libraries.keys() {
            if !self.libraries.contains_key(name) {
                continue;
            }
            if policy == RestorePolicy::Append {
                failed = Some(format!(
                    "Library {} already exists",
                    String::from_utf8_lossy(name)
                ));
                break;
            }
            replaced.extend(self.unlink(name));
        }
        if failed.is_none() {
            failed = staged
                .libraries
                .values()
                .find_map(|lib| self.collision(lib, None))
                .map(|f| format!("Function {} already exists", String::from_utf8_lossy(f)));
        }
        if let Some(err) = failed {
            for lib in replaced {
                self.link(lib);
            }
            for lib in staged.libraries.into_values() {
                engine.drop_library(lib.id);
            }
            return Err(err);
        }
        for lib in replaced {
            engine.drop_library(lib.id);
        }
        for lib in staged.libraries.into_values() {
            self.link(lib);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(code: &str) -> Result<LibraryHeader, String> {
        LibraryHeader::parse(&Bytes::from(code.to_owned()))
    }

    #[test]
    fn library_headers_as_redis_reads_them() {
        let h = header("#!lua name=mylib\nreturn 1").unwrap();
        assert_eq!(
            (&h.engine[..], &h.name[..], h.body_at),
            (&b"lua"[..], &b"mylib"[..], 16)
        );
        let h = header("#!LUA NAME=up \n").unwrap();
        assert_eq!((&h.engine[..], &h.name[..]), (&b"LUA"[..], &b"up"[..]));
        // Quoted words are words, as sdssplitargs makes them.
        assert_eq!(&header("#!lua \"name=a b\"\n").unwrap().name[..], b"a b");
        let cases = [
            ("lua name=x", "Missing library metadata"),
            ("#!lua name=x", "Invalid library metadata"),
            ("#!lua \"unterminated\n", "Invalid library metadata"),
            ("#!lua\n", "Library name was not given"),
            (
                "#!lua name=x foo=y\n",
                "Invalid metadata value given: foo=y",
            ),
            (
                "#!lua name=x name=y\n",
                "Invalid metadata value, name argument was given multiple times",
            ),
            ("#!lua\0 name=x\n", "Invalid library metadata"),
        ];
        for (code, err) in cases {
            assert_eq!(header(code).unwrap_err(), err, "{code:?}");
        }
    }

    #[test]
    fn names() {
        assert!(valid_name(b"a_B9"));
        assert!(!valid_name(b""));
        assert!(!valid_name(b"a-b"));
        assert!(!valid_name(b"a b"));
    }
}
