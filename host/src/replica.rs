//! The replica's side of replication, for both adapters: a thread per master link that
//! connects, moves bytes between the socket and the store's
//! [`redish_core::server::replica::ReplicaLink`], and reconnects when the link drops.
//! What is said on the link is core's; this file only holds the socket.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use redish_core::db::repl::LinkStatus;
use redish_core::server::replica::{LinkError, ReplicaLink};
use redish_core::Store;
use tracing::{info, warn};

use crate::persist::{Persistence, StoreAccess};

/// How long a read waits before the link's timer runs (ACKs every second).
const READ_TIMEOUT: Duration = Duration::from_millis(100);
/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The pause between two connection attempts.
const RETRY_DELAY: Duration = Duration::from_secs(1);

/// From the server's timer, with the store locked: starts the link thread when REPLICAOF
/// named a master no thread serves yet.
pub(crate) fn on_timer(persistence: &Persistence, store: &mut Store) {
    let Some(m) = store.replication().master.as_ref() else {
        return;
    };
    if m.status != LinkStatus::Connect {
        return;
    }
    let (epoch, host, port) = (m.epoch, m.host.clone(), m.port);
    let Ok(access) = persistence.store_access() else {
        return;
    };
    if let Some(m) = store.master_link(epoch) {
        m.status = LinkStatus::Connecting;
    }
    let spawned = std::thread::Builder::new()
        .name("replica-link".into())
        .spawn(move || run(access, epoch, host, port));
    if let Err(e) = spawned {
        warn!("can't start the replication thread: {e}");
        if let Some(m) = store.master_link(epoch) {
            m.status = LinkStatus::Connect;
        }
    }
}

/// The link thread of REPLICAOF epoch `epoch`: connects, serves the link, and connects
/// again after a pause, until the store names another master (or none).
fn run(access: Arc<dyn StoreAccess>, epoch: u64, host: String, port: u16) {
    info!("connecting to MASTER {host}:{port}");
    loop {
        match serve(&*access, epoch, &host, port) {
            Err(e) if e.is_final() => break,
            Err(e) => warn!("replication link to {host}:{port}: {e}"),
            Ok(()) => warn!("connection with master {host}:{port} lost"),
        }
        let mut wanted = false;
        access.with_store(&mut |store| wanted = store.master_link(epoch).is_some());
        if !wanted {
            break;
        }
        std::thread::sleep(RETRY_DELAY);
    }
    info!("replication link to {host}:{port} stopped");
}

/// One connection to the master. `Ok` when the socket closed or failed.
fn serve(access: &dyn StoreAccess, epoch: u64, host: &str, port: u16) -> Result<(), LinkError> {
    let mut stream = match connect(host, port) {
        Ok(s) => s,
        Err(e) => {
            let mut wanted = false;
            access.with_store(&mut |store| wanted = store.master_link(epoch).is_some());
            if !wanted {
                return Err(LinkError::Cancelled);
            }
            warn!("error connecting to master {host}:{port}: {e}");
            return Ok(());
        }
    };
    info!("MASTER <-> REPLICA sync started with {host}:{port}");
    let mut link: Option<ReplicaLink> = None;
    let mut result = Ok(());
    access.with_store(&mut |store| {
        let now = crate::now_ms();
        result = ReplicaLink::new(store, epoch, now).and_then(|mut l| {
            l.handle_connected(store, now)?;
            link = Some(l);
            Ok(())
        });
    });
    result?;
    let mut link = link.expect("made above");
    let mut buf = vec![0u8; 64 * 1024];
    let outcome = loop {
        if let Err(e) = flush(&mut stream, &mut link) {
            warn!("writing to master: {e}");
            break Ok(());
        }
        let read = stream.read(&mut buf);
        let mut step = Ok(());
        match read {
            Ok(0) => break Ok(()),
            Ok(n) => access.with_store(&mut |store| {
                step = link.handle_read(&buf[..n], store, crate::now_ms());
            }),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                access.with_store(&mut |store| {
                    step = link.handle_timeout(store, crate::now_ms());
                })
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                warn!("reading from master: {e}");
                break Ok(());
            }
        }
        if let Err(e) = step {
            break Err(e);
        }
    };
    access.with_store(&mut |store| link.handle_closed(store, crate::now_ms()));
    outcome
}

fn connect(host: &str, port: u16) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
    for addr in (host, port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(s) => {
                s.set_nodelay(true)?;
                s.set_read_timeout(Some(READ_TIMEOUT))?;
                s.set_write_timeout(Some(Duration::from_secs(60)))?;
                return Ok(s);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn flush(stream: &mut TcpStream, link: &mut ReplicaLink) -> io::Result<()> {
    while !link.poll_transmit().is_empty() {
        let n = stream.write(link.poll_transmit())?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        link.consume_transmit(n);
    }
    Ok(())
}
