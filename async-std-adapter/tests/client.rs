//! The async-std client against the async-std server, in-process on a loopback port. The
//! server's behaviour is covered by the shared scenarios of `redish-tests`.

use std::time::Duration;

use async_std_adapter::client::{Client, Error};
use async_std_adapter::server::{Server, ServerOptions};
use redish_core::resp::Frame;

/// Fails a test that would hang instead of finishing.
async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    async_std::future::timeout(Duration::from_secs(30), f)
        .await
        .expect("test timed out")
}

#[test]
fn commands_and_pubsub() {
    async_std::task::block_on(bounded(async {
        let options = ServerOptions {
            port: 0,
            ..ServerOptions::default()
        };
        let server = Server::bind(options).await.unwrap();
        let addr = server.local_addrs()[0];
        let (stop, stopped) = async_channel::bounded::<()>(1);
        let running = async_std::task::spawn(server.run(async move {
            let _ = stopped.recv().await;
        }));

        let mut client = Client::connect(addr).await.unwrap();
        client.set("k", "v").await.unwrap();
        assert_eq!(client.get("k").await.unwrap().as_deref(), Some(&b"v"[..]));
        assert_eq!(client.get("nope").await.unwrap(), None);
        let reply = client.command(&["CONFIG", "GET", "port"]).await.unwrap();
        let port = addr.port().to_string();
        assert_eq!(reply, Frame::command(["port", port.as_str()]));
        match client.command(&["INCR", "k"]).await {
            Err(Error::Server(text)) => assert!(text.starts_with("ERR value is not an integer")),
            other => panic!("{other:?}"),
        }

        let mut news = Client::connect(addr)
            .await
            .unwrap()
            .subscribe(&["news"])
            .await
            .unwrap();
        let mut all = Client::connect(addr)
            .await
            .unwrap()
            .psubscribe(&["n*"])
            .await
            .unwrap();
        assert_eq!(client.publish("news", "hello").await.unwrap(), 2);
        let m = news.next_message().await.unwrap().unwrap();
        assert_eq!(
            (&m.channel[..], m.pattern, &m.payload[..]),
            (&b"news"[..], None, &b"hello"[..])
        );
        let m = all.next_message().await.unwrap().unwrap();
        assert_eq!(m.pattern.as_deref(), Some(&b"n*"[..]));

        stop.close();
        running.await.unwrap();
        // The server closed the subscriber on its way out.
        assert_eq!(news.next_message().await.unwrap(), None);
    }));
}
