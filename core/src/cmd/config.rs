//! CONFIG: GET, SET, RESETSTAT, REWRITE, HELP — over the parameter table of
//! [`crate::db::Config`].

use bytes::Bytes;

use super::command::{help, subcommand};
use super::executor::Ctx;
use super::{Args, CmdError};
use crate::db::{Apply, Config};
use crate::resp::Frame;

/// `CONFIG <subcommand> …`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigCmd {
    /// `CONFIG GET parameter [parameter …]`: the settings matching any of the globs.
    Get(Vec<Bytes>),
    /// `CONFIG SET parameter value [parameter value …]`: all or none.
    Set(Vec<(Bytes, Bytes)>),
    /// `CONFIG RESETSTAT`: INFO's counters start again.
    ResetStat,
    /// `CONFIG REWRITE`: the configuration file rewritten through the host's
    /// [`crate::db::config_file::ConfigFileIo`].
    Rewrite,
    /// `CONFIG HELP`.
    Help,
}

impl ConfigCmd {
    pub(crate) fn parse(args: &mut Args) -> Result<ConfigCmd, CmdError> {
        let m = subcommand(args, "CONFIG")?;
        Ok(match m.name {
            "config|get" => ConfigCmd::Get(args.rest()),
            "config|set" => {
                let rest = args.rest();
                if rest.len() % 2 != 0 {
                    return Err(CmdError::Syntax);
                }
                ConfigCmd::Set(
                    rest.chunks(2)
                        .map(|p| (p[0].clone(), p[1].clone()))
                        .collect(),
                )
            }
            "config|resetstat" => ConfigCmd::ResetStat,
            "config|rewrite" => ConfigCmd::Rewrite,
            _ => ConfigCmd::Help,
        })
    }

    pub(crate) fn apply(self, ctx: &mut Ctx) -> Result<Frame, CmdError> {
        match self {
            ConfigCmd::Get(patterns) => Ok(Frame::Map(
                ctx.store
                    .config()
                    .get_matching(&patterns)
                    .into_iter()
                    .map(|(n, v)| (Frame::Bulk(Bytes::from(n)), Frame::Bulk(Bytes::from(v))))
                    .collect(),
            )),
            ConfigCmd::Set(pairs) => {
                let mut next = ctx.store.config().clone();
                next.set_many(&pairs)
                    .map_err(|e| CmdError::Other(e.to_string()))?;
                if next.security.tls_differs(&ctx.store.config().security) {
                    reload_tls(ctx, &next, &pairs)?;
                }
                // What the changed parameters ask for once set, each once (Redis's apply
                // functions run after every value is in place).
                let mut applies: Vec<Apply> = Vec::new();
                for (name, _) in &pairs {
                    if let Some((_, p)) = Config::param(name) {
                        if p.apply != Apply::Nothing
                            && !applies.contains(&p.apply)
                            && p.get(&next) != p.get(ctx.store.config())
                        {
                            applies.push(p.apply);
                        }
                    }
                }
                *ctx.store.config_mut() = next;
                for apply in applies {
                    match apply {
                        Apply::Nothing => {}
                        Apply::Evict => {
                            // As Redis's `updateMaxmemory`: evict at once, not at the next
                            // command.
                            ctx.store.sync_key_events();
                            ctx.store.perform_evictions(ctx.now_ms);
                        }
                    }
                }
                Ok(Frame::OK)
            }
            ConfigCmd::ResetStat => {
                ctx.store.reset_stats();
                Ok(Frame::OK)
            }
            ConfigCmd::Rewrite => match ctx.store.rewrite_config_file() {
                Ok(()) => Ok(Frame::OK),
                Err(e) => Err(CmdError::err(e)),
            },
            ConfigCmd::Help => Ok(help(
                "CONFIG",
                &[
                    "GET <pattern>",
                    "    Return parameters matching the glob-like <pattern> and their values.",
                    "SET <directive> <value>",
                    "    Set the configuration <directive> to <value>.",
                    "RESETSTAT",
                    "    Reset statistics reported by the INFO command.",
                    "REWRITE",
                    "    Rewrite the configuration file.",
                ],
            )),
        }
    }
}

/// A TLS setting changed: the host builds its TLS context again before the change is
/// kept, as Redis's `applyTlsCfg` (the error names the first TLS setting given).
fn reload_tls(
    ctx: &mut Ctx,
    next: &crate::db::Config,
    pairs: &[(Bytes, Bytes)],
) -> Result<(), CmdError> {
    use crate::db::{ConfigSetError, SecurityConfig};
    ctx.store.reload_tls(next).map_err(|_| {
        let name = pairs
            .iter()
            .map(|(n, _)| String::from_utf8_lossy(n).into_owned())
            .find(|n| {
                SecurityConfig::TLS_RELOAD_PARAMS
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case(n))
            })
            .unwrap_or_default();
        CmdError::Other(
            ConfigSetError::Failed {
                name,
                reason: "Unable to update TLS configuration. Check server logs.".into(),
            }
            .to_string(),
        )
    })
}
