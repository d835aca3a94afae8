//! `cli`: a small redis-cli for redish (and Redis).
//!
//! ```text
//! cli set foo bar            # OK
//! cli get foo                # "bar"
//! cli -p 6380 publish ch hi  # (integer) 1
//! cli subscribe ch           # prints messages as they arrive, until Ctrl-C
//! cli -3 hello 3             # RESP3
//! cli                        # interactive prompt: 127.0.0.1:6379>
//! ```

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use redish_core::resp::Frame;
use rustyline::error::ReadlineError;
use tokio::runtime::Runtime;
use tokio_adapter::cli::{format_raw, format_reply, split_args};
use tokio_adapter::client::{Client, Error};

#[derive(Debug, Parser)]
#[command(version, about = "Command line client for redish and Redis")]
struct Args {
    /// Server hostname.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Server port.
    #[arg(short = 'p', long, default_value_t = 6379)]
    port: u16,
    /// Speak RESP3 (HELLO 3) instead of RESP2.
    #[arg(short = '3')]
    resp3: bool,
    /// Database number.
    #[arg(short = 'n', default_value_t = 0)]
    db: u32,
    /// Print replies bare, without types or quotes.
    #[arg(long)]
    raw: bool,
    /// Connect over TLS (the server's certificate checked against --cacert).
    #[arg(long)]
    tls: bool,
    /// CA certificate file (PEM) to check the server's certificate with.
    #[arg(long, requires = "tls")]
    cacert: Option<std::path::PathBuf>,
    /// Client certificate (PEM), for a server with `tls-auth-clients yes`.
    #[arg(long, requires = "key")]
    cert: Option<std::path::PathBuf>,
    /// Client private key (PEM).
    #[arg(long, requires = "cert")]
    key: Option<std::path::PathBuf>,
    /// Server name to check the certificate for (default: the host).
    #[arg(long)]
    sni: Option<String>,
    /// The command to send; none starts the interactive prompt.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

struct Cli {
    args: Args,
    runtime: Runtime,
    client: Option<Client>,
    db: u32,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let db = args.db;
    let mut cli = Cli {
        args,
        runtime,
        client: None,
        db,
    };
    if let Err(e) = cli.connect() {
        eprintln!("{e}");
        return ExitCode::FAILURE;
    }
    if cli.args.command.is_empty() {
        cli.interactive();
        return ExitCode::SUCCESS;
    }
    let command: Vec<Vec<u8>> = cli
        .args
        .command
        .iter()
        .map(|a| a.clone().into_bytes())
        .collect();
    match cli.run(&command) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::FAILURE
        }
    }
}

impl Cli {
    fn addr(&self) -> String {
        format!("{}:{}", self.args.host, self.args.port)
    }

    /// Connects and sets the connection up as asked (RESP3, database).
    fn connect(&mut self) -> Result<(), String> {
        let addr = self.addr();
        let (resp3, db) = (self.args.resp3, self.db);
        let tls = if self.args.tls {
            let ca = self
                .args
                .cacert
                .as_deref()
                .ok_or("--tls needs --cacert (the CA certificate to check the server with)")?;
            let pair = self.args.cert.as_deref().zip(self.args.key.as_deref());
            let config = redish_host::tls::client_config(ca, pair)?;
            let name = self
                .args
                .sni
                .clone()
                .unwrap_or_else(|| self.args.host.clone());
            Some((name, config))
        } else {
            None
        };
        let setup = self.runtime.block_on(async {
            let mut client = match tls {
                Some((name, config)) => Client::connect_tls(&addr, &name, config).await?,
                None => Client::connect(&addr).await?,
            };
            if resp3 {
                client.hello(3).await?;
            }
            if db != 0 {
                client
                    .command(&["SELECT".to_string(), db.to_string()])
                    .await?;
            }
            Ok::<_, Error>(client)
        });
        match setup {
            Ok(client) => {
                self.client = Some(client);
                Ok(())
            }
            Err(Error::Io(e)) => Err(format!("Could not connect to Redis at {addr}: {e}")),
            Err(e) => Err(format!("Could not set up the connection to {addr}: {e}")),
        }
    }

    /// Sends one command and prints its reply; SUBSCRIBE and PSUBSCRIBE print messages until
    /// the connection closes or Ctrl-C. Returns false for an error reply.
    fn run(&mut self, command: &[Vec<u8>]) -> Result<bool, Error> {
        let name = command[0].to_ascii_lowercase();
        let raw = self.args.raw;
        let Some(client) = self.client.as_mut() else {
            return Err(Error::ConnectionClosed);
        };
        if name == b"subscribe" || name == b"psubscribe" {
            let result = self.runtime.block_on(print_messages(client, command, raw));
            // The connection is left in subscribed mode: start afresh for the next command.
            self.client = None;
            return result;
        }
        let reply = self.runtime.block_on(async {
            client.send(command).await?;
            client.read_frame().await
        })?;
        print(&reply, raw);
        if name == b"select" && matches!(&reply, Frame::Simple(s) if s == "OK") {
            self.db = std::str::from_utf8(&command[1])
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(self.db);
        }
        Ok(!reply.is_error())
    }

    fn prompt(&self) -> String {
        match (&self.client, self.db) {
            (None, _) => "not connected> ".to_string(),
            (Some(_), 0) => format!("{}> ", self.addr()),
            (Some(_), db) => format!("{}[{db}]> ", self.addr()),
        }
    }

    fn interactive(&mut self) {
        let mut editor = match rustyline::DefaultEditor::new() {
            Ok(editor) => editor,
            Err(e) => {
                eprintln!("cannot start line editing: {e}");
                return;
            }
        };
        let history = std::env::var_os("HOME")
            .map(|home| std::path::Path::new(&home).join(".redish_cli_history"));
        if let Some(path) = &history {
            let _ = editor.load_history(path);
        }
        loop {
            let line = match editor.readline(&self.prompt()) {
                Ok(line) => line,
                Err(ReadlineError::Interrupted | ReadlineError::Eof) => break,
                Err(e) => {
                    eprintln!("{e}");
                    break;
                }
            };
            let Some(command) = split_args(&line) else {
                println!("Invalid argument(s)");
                continue;
            };
            if command.is_empty() {
                continue;
            }
            let _ = editor.add_history_entry(line.as_str());
            let name = command[0].to_ascii_lowercase();
            if name == b"quit" || name == b"exit" {
                break;
            }
            if self.client.is_none() {
                if let Err(e) = self.connect() {
                    println!("{e}");
                    continue;
                }
            }
            if let Err(e) = self.run(&command) {
                println!("Error: {e}");
                self.client = None;
            }
        }
        if let Some(path) = &history {
            let _ = editor.save_history(path);
        }
    }
}

fn print(reply: &Frame, raw: bool) {
    let text = if raw {
        format_raw(reply)
    } else {
        format_reply(reply)
    };
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// Subscribed mode: prints every frame the server pushes until it closes or Ctrl-C.
async fn print_messages(
    client: &mut Client,
    command: &[Vec<u8>],
    raw: bool,
) -> Result<bool, Error> {
    client.send(command).await?;
    println!("Reading messages... (press Ctrl-C to quit)");
    loop {
        tokio::select! {
            frame = client.read_frame() => match frame {
                Ok(frame) => print(&frame, raw),
                Err(Error::ConnectionClosed) => return Ok(true),
                Err(e) => return Err(e),
            },
            _ = tokio::signal::ctrl_c() => return Ok(true),
        }
    }
}
