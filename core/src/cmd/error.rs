//! Command errors: the request was valid RESP but the command cannot run. The connection
//! replies with the error and carries on.

use bytes::Bytes;

use crate::resp::Frame;

/// Why a command was refused. [`std::fmt::Display`] gives the whole error line Redis sends,
/// code first (`ERR …`, `WRONGTYPE …`), without the leading `-`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CmdError {
    /// A request with no arguments at all (decoders skip these; kept for direct callers).
    #[error("ERR empty command")]
    Empty,
    /// The command name is not one we serve.
    #[error("ERR unknown command '{name}', with args beginning with: {args}")]
    UnknownCommand {
        /// The name as sent, cut at 128 bytes.
        name: String,
        /// The first arguments, quoted, as Redis lists them.
        args: String,
    },
    /// A subcommand we do not serve (`CONFIG FOO`).
    #[error("ERR unknown subcommand '{sub}'. Try {cmd} HELP.")]
    UnknownSubcommand {
        /// The subcommand as sent.
        sub: String,
        /// The command, upper case.
        cmd: &'static str,
    },
    /// Wrong argument count; holds the command's lower-case name.
    #[error("ERR wrong number of arguments for '{0}' command")]
    WrongArity(&'static str),
    /// Options that do not fit together or are not known.
    #[error("ERR syntax error")]
    Syntax,
    /// An argument that should be an integer is not, or overflows.
    #[error("ERR value is not an integer or out of range")]
    NotInteger,
    /// An expire time that is not positive or overflows; holds the command's name.
    #[error("ERR invalid expire time in '{0}' command")]
    InvalidExpire(&'static str),
    /// The key holds a value of another type.
    #[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
    WrongType,
    /// MOVE or COPY onto the key itself.
    #[error("ERR source and destination objects are the same")]
    SameObject,
    /// SELECT beyond the configured databases.
    #[error("ERR DB index is out of range")]
    DbIndexOutOfRange,
    /// A RESP2 connection in subscribed mode sent a command not allowed there.
    #[error("ERR Can't execute '{0}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")]
    NotInPubSubContext(&'static str),
    /// Any other error, with its whole text (code included).
    #[error("{0}")]
    Other(String),
}

impl CmdError {
    /// Redis's unknown-command error: the name cut at 128 bytes and the first arguments,
    /// each quoted and followed by a space, until 128 bytes of them are shown.
    pub fn unknown_command(name: &[u8], args: &[Bytes]) -> CmdError {
        let mut shown = String::new();
        for a in args {
            if shown.len() >= 128 {
                break;
            }
            let budget = 128 - shown.len();
            let a = &a[..a.len().min(budget)];
            shown.push('\'');
            shown.push_str(&String::from_utf8_lossy(a));
            shown.push_str("' ");
        }
        let name = String::from_utf8_lossy(&name[..name.len().min(128)]).into_owned();
        CmdError::UnknownCommand { name, args: shown }
    }

    /// The error reply. Many texts quote what the client sent, and a reply line must not
    /// hold CR or LF: like Redis, map both to spaces.
    pub fn to_frame(&self) -> Frame {
        let mut text = self.to_string();
        if text.contains(['\r', '\n']) {
            text = text.replace(['\r', '\n'], " ");
        }
        Frame::Error(Bytes::from(text))
    }

    /// The error's code, its first word (`ERR`, `WRONGTYPE`, `NOAUTH`…), as INFO
    /// errorstats counts it.
    pub fn code(&self) -> &str {
        match self {
            CmdError::WrongType => "WRONGTYPE",
            CmdError::Other(text) => text.split([' ', '\r', '\n']).next().unwrap_or(text),
            _ => "ERR",
        }
    }

    /// An `ERR …` error with the given text after the code.
    pub fn err(msg: impl std::fmt::Display) -> CmdError {
        CmdError::Other(format!("ERR {msg}"))
    }
}
