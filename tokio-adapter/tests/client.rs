//! The crate's own client against the in-process server: every method.

mod common;

use bytes::Bytes;
use common::{bounded, TestServer};
use futures_util::StreamExt;
use redish_core::resp::{Frame, Protocol};
use tokio_adapter::client::{Client, Error, Message, SetOptions};

fn bulk(s: &str) -> Option<Bytes> {
    Some(Bytes::copy_from_slice(s.as_bytes()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strings_and_keys() {
    bounded(async {
        let server = TestServer::start().await;
        let mut c = Client::connect(server.addr).await.unwrap();

        assert_eq!(c.ping().await.unwrap(), "PONG");
        c.set("k", "v").await.unwrap();
        assert_eq!(c.get("k").await.unwrap(), bulk("v"));
        assert_eq!(c.get("missing").await.unwrap(), None);

        assert!(!c
            .set_with("k", "nx", &SetOptions::new().nx())
            .await
            .unwrap());
        assert!(c
            .set_with("new", "nx", &SetOptions::new().nx())
            .await
            .unwrap());
        assert!(!c
            .set_with("absent", "xx", &SetOptions::new().xx())
            .await
            .unwrap());
        assert!(c
            .set_with("k", "xx", &SetOptions::new().xx())
            .await
            .unwrap());
        assert_eq!(c.get("k").await.unwrap(), bulk("xx"));

        assert!(c
            .set_with("ex", "v", &SetOptions::new().ex(100))
            .await
            .unwrap());
        assert!((99..=100).contains(&c.ttl("ex").await.unwrap()));
        assert!(c
            .set_with("px", "v", &SetOptions::new().px(50_000))
            .await
            .unwrap());
        assert!((49..=50).contains(&c.ttl("px").await.unwrap()));
        assert!(c
            .set_with("ex", "w", &SetOptions::new().keep_ttl())
            .await
            .unwrap());
        assert!(c.ttl("ex").await.unwrap() > 0);

        assert_eq!(c.ttl("k").await.unwrap(), -1);
        assert_eq!(c.ttl("missing").await.unwrap(), -2);
        assert!(c.expire("k", 30).await.unwrap());
        assert!(!c.expire("missing", 30).await.unwrap());
        assert!((29..=30).contains(&c.ttl("k").await.unwrap()));

        assert_eq!(c.exists(&["k", "new", "missing", "k"]).await.unwrap(), 3);
        assert_eq!(c.del(&["k", "missing"]).await.unwrap(), 1);
        assert_eq!(c.exists(&["k"]).await.unwrap(), 0);

        // A server error reply is a typed error carrying Redis's text.
        match c.set_with("k", "v", &SetOptions::new().ex(0)).await {
            Err(Error::Server(text)) => {
                assert!(text.starts_with("ERR invalid expire time"), "{text}")
            }
            other => panic!("expected a server error, got {other:?}"),
        }
        match c.command(&["NOSUCHCOMMAND"]).await {
            Err(Error::Server(text)) => assert!(text.starts_with("ERR unknown command"), "{text}"),
            other => panic!("expected a server error, got {other:?}"),
        }
        // A reply of the wrong type for the method.
        match c.incr("k2").await {
            Ok(n) => assert_eq!(n, 1),
            // redish-core may not serve INCR yet.
            Err(Error::Server(text)) if text.contains("unknown command") => {}
            Err(e) => panic!("INCR: {e}"),
        }
        let config = c.command(&["CONFIG", "GET", "port"]).await.unwrap();
        let port = server.addr.port().to_string();
        assert_eq!(
            config,
            Frame::Array(vec![Frame::bulk("port"), Frame::bulk(&port)])
        );
        server.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resp3() {
    bounded(async {
        let server = TestServer::start().await;
        let mut c = Client::connect(server.addr).await.unwrap();
        assert_eq!(c.protocol(), Protocol::Resp2);
        let hello = c.hello(3).await.unwrap();
        assert_eq!(c.protocol(), Protocol::Resp3);
        let Frame::Map(pairs) = hello else {
            panic!("HELLO 3 gave {hello:?}")
        };
        assert!(
            pairs.contains(&(Frame::bulk("proto"), Frame::Integer(3))),
            "{pairs:?}"
        );
        assert_eq!(c.get("missing").await.unwrap(), None);
        let config = c.command(&["CONFIG", "GET", "appendonly"]).await.unwrap();
        assert_eq!(
            config,
            Frame::Map(vec![(Frame::bulk("appendonly"), Frame::bulk("no"))])
        );
        c.hello(2).await.unwrap();
        assert_eq!(c.protocol(), Protocol::Resp2);
        server.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline() {
    bounded(async {
        let server = TestServer::start().await;
        let mut c = Client::connect(server.addr).await.unwrap();
        let mut p = c.pipeline();
        assert!(p.is_empty());
        p.set("a", "1")
            .get("a")
            .del("a")
            .get("a")
            .cmd(&["NOSUCHCOMMAND"])
            .cmd(&["EXISTS", "a"]);
        assert_eq!(p.len(), 6);
        let replies = p.execute().await.unwrap();
        assert_eq!(replies.len(), 6);
        assert_eq!(replies[0], Frame::OK);
        assert_eq!(replies[1], Frame::bulk("1"));
        assert_eq!(replies[2], Frame::Integer(1));
        assert_eq!(replies[3], Frame::Null);
        assert!(replies[4].is_error());
        assert_eq!(replies[5], Frame::Integer(0));
        // The connection is still in step afterwards.
        assert_eq!(c.ping().await.unwrap(), "PONG");
        let replies = c.pipeline().execute().await.unwrap();
        assert!(replies.is_empty());
        server.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriber() {
    bounded(async {
        let server = TestServer::start().await;
        let mut publisher = Client::connect(server.addr).await.unwrap();
        let mut sub = Client::connect(server.addr)
            .await
            .unwrap()
            .subscribe(&["a", "b"])
            .await
            .unwrap();
        assert_eq!(sub.channels(), [Bytes::from("a"), Bytes::from("b")]);
        sub.psubscribe(&["p.*"]).await.unwrap();
        assert_eq!(sub.patterns(), [Bytes::from("p.*")]);

        assert_eq!(publisher.publish("a", "1").await.unwrap(), 1);
        assert_eq!(publisher.publish("p.x", "2").await.unwrap(), 1);
        assert_eq!(publisher.publish("nobody", "3").await.unwrap(), 0);
        let m = sub.next_message().await.unwrap().unwrap();
        assert_eq!(
            m,
            Message {
                channel: "a".into(),
                pattern: None,
                payload: "1".into()
            }
        );
        let m = sub.next_message().await.unwrap().unwrap();
        assert_eq!(
            m,
            Message {
                channel: "p.x".into(),
                pattern: Some("p.*".into()),
                payload: "2".into()
            }
        );

        sub.unsubscribe(&["a"]).await.unwrap();
        assert_eq!(sub.channels(), [Bytes::from("b")]);
        assert_eq!(publisher.publish("a", "x").await.unwrap(), 0);
        sub.punsubscribe::<&str>(&[]).await.unwrap();
        assert!(sub.patterns().is_empty());
        assert_eq!(publisher.publish("p.x", "x").await.unwrap(), 0);
        sub.unsubscribe::<&str>(&[]).await.unwrap();
        assert!(sub.channels().is_empty());
        // Unsubscribing from nothing is confirmed once too.
        sub.unsubscribe::<&str>(&[]).await.unwrap();
        sub.subscribe(&["c"]).await.unwrap();

        // As a stream; RESP3 pushes work the same.
        let mut resp3 = Client::connect(server.addr).await.unwrap();
        resp3.hello(3).await.unwrap();
        let sub3 = resp3.subscribe(&["c"]).await.unwrap();
        assert_eq!(publisher.publish("c", "one").await.unwrap(), 2);
        assert_eq!(publisher.publish("c", "two").await.unwrap(), 2);
        for s in [sub, sub3] {
            let stream = s.into_stream();
            tokio::pin!(stream);
            let payloads: Vec<Bytes> = stream
                .by_ref()
                .take(2)
                .map(|m| m.unwrap().payload)
                .collect()
                .await;
            assert_eq!(payloads, [Bytes::from("one"), Bytes::from("two")]);
        }
        server.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_ends_when_server_stops() {
    bounded(async {
        let server = TestServer::start().await;
        let sub = Client::connect(server.addr)
            .await
            .unwrap()
            .subscribe(&["a"])
            .await
            .unwrap();
        server.stop().await;
        let stream = sub.into_stream();
        tokio::pin!(stream);
        assert!(stream.next().await.is_none());
    })
    .await;
}
