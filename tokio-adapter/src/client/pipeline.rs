//! Pipelines: many commands in one write, their replies read back in order.

use bytes::BytesMut;
use redish_core::resp::{encode_command, Decoder, Frame};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use super::{read_frame, Client, ClientStream, Error, Result};

/// Commands queued to be sent together, from [`Client::pipeline`].
///
/// ```no_run
/// # async fn run(client: &mut tokio_adapter::client::Client) -> tokio_adapter::client::Result<()> {
/// let mut pipeline = client.pipeline();
/// pipeline.set("a", "1").incr("a").cmd(&["EXISTS", "a", "b"]);
/// let replies = pipeline.execute().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Pipeline<'c> {
    client: &'c mut Client,
    requests: BytesMut,
    count: usize,
}

impl<'c> Pipeline<'c> {
    pub(super) fn new(client: &'c mut Client) -> Pipeline<'c> {
        Pipeline {
            client,
            requests: BytesMut::new(),
            count: 0,
        }
    }

    /// Queues any command.
    pub fn cmd<T: AsRef<[u8]>>(&mut self, args: &[T]) -> &mut Self {
        encode_command(args, &mut self.requests);
        self.count += 1;
        self
    }

    /// Queues `GET key`.
    pub fn get(&mut self, key: impl AsRef<[u8]>) -> &mut Self {
        self.cmd(&[&b"GET"[..], key.as_ref()])
    }

    /// Queues `SET key value`.
    pub fn set(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> &mut Self {
        self.cmd(&[&b"SET"[..], key.as_ref(), value.as_ref()])
    }

    /// Queues `DEL key`.
    pub fn del(&mut self, key: impl AsRef<[u8]>) -> &mut Self {
        self.cmd(&[&b"DEL"[..], key.as_ref()])
    }

    /// Queues `INCR key`.
    pub fn incr(&mut self, key: impl AsRef<[u8]>) -> &mut Self {
        self.cmd(&[&b"INCR"[..], key.as_ref()])
    }

    /// Queues `PUBLISH channel message`.
    pub fn publish(&mut self, channel: impl AsRef<[u8]>, message: impl AsRef<[u8]>) -> &mut Self {
        self.cmd(&[&b"PUBLISH"[..], channel.as_ref(), message.as_ref()])
    }

    /// Commands queued.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True if nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Sends every queued command in one write and returns the replies in order. Error
    /// replies stay in the list as [`Frame::Error`]: one failing command does not hide the
    /// others' replies.
    pub async fn execute(self) -> Result<Vec<Frame>> {
        let Pipeline {
            client,
            requests,
            count,
        } = self;
        let Client {
            stream,
            read_buf,
            decoder,
            ..
        } = client;
        match stream {
            ClientStream::Tcp(tcp) => {
                let (reader, writer) = tcp.split();
                exchange(reader, writer, &requests, count, decoder, read_buf).await
            }
            ClientStream::Tls(tls) => {
                let (reader, writer) = tokio::io::split(tls);
                exchange(reader, writer, &requests, count, decoder, read_buf).await
            }
        }
    }
}

/// Writes `requests` while reading `count` replies: a pipeline bigger than the socket
/// buffers would otherwise deadlock, each side waiting for the other to read.
async fn exchange(
    mut reader: impl AsyncRead + Unpin,
    mut writer: impl AsyncWrite + Unpin,
    requests: &[u8],
    count: usize,
    decoder: &mut Decoder,
    read_buf: &mut BytesMut,
) -> Result<Vec<Frame>> {
    let write = async {
        writer.write_all(requests).await?;
        writer.flush().await?;
        Ok::<(), Error>(())
    };
    let read = async {
        let mut replies = Vec::with_capacity(count);
        while replies.len() < count {
            replies.push(read_frame(&mut reader, decoder, read_buf).await?);
        }
        Ok::<_, Error>(replies)
    };
    let ((), replies) = tokio::try_join!(write, read)?;
    Ok(replies)
}
