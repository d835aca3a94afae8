//! The server against a real third-party client: the `redis` crate, over RESP2 and RESP3.

mod common;

use std::time::Duration;

use common::{bounded, TestServer};
use futures_util::StreamExt;
use redis::aio::MultiplexedConnection;
use redis::{AsyncCommands, ExistenceCheck, SetExpiry, SetOptions, Value};

async fn connect(url: &str) -> MultiplexedConnection {
    let client = redis::Client::open(url).expect("url");
    client
        .get_multiplexed_async_connection()
        .await
        .expect("connect")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strings() {
    bounded(async {
        let server = TestServer::start().await;
        let mut con = connect(&server.url()).await;

        let () = con.set("k", "v").await.unwrap();
        let v: Option<String> = con.get("k").await.unwrap();
        assert_eq!(v.as_deref(), Some("v"));
        let missing: Option<String> = con.get("nope").await.unwrap();
        assert_eq!(missing, None);

        // NX on an existing key does nothing; XX on a missing one neither.
        let nx = SetOptions::default().conditional_set(ExistenceCheck::NX);
        let r: Option<String> = con.set_options("k", "w", nx).await.unwrap();
        assert_eq!(r, None);
        let xx = SetOptions::default().conditional_set(ExistenceCheck::XX);
        let r: Option<String> = con.set_options("absent", "w", xx.clone()).await.unwrap();
        assert_eq!(r, None);
        let r: Option<String> = con.set_options("k", "w", xx).await.unwrap();
        assert_eq!(r.as_deref(), Some("OK"));
        let v: String = con.get("k").await.unwrap();
        assert_eq!(v, "w");

        // Binary-safe values.
        let blob: Vec<u8> = (0..=255).collect();
        let () = con.set("blob", &blob[..]).await.unwrap();
        let back: Vec<u8> = con.get("blob").await.unwrap();
        assert_eq!(back, blob);

        assert_eq!(
            con.exists::<_, i64>(&["k", "blob", "nope"]).await.unwrap(),
            2
        );
        assert_eq!(con.del::<_, i64>(&["k", "nope"]).await.unwrap(), 1);
        let err = redis::cmd("SET")
            .arg("k")
            .query_async::<Value>(&mut con)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("wrong number of arguments"),
            "{err}"
        );
        server.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry() {
    bounded(async {
        let server = TestServer::start().await;
        let mut con = connect(&server.url()).await;

        let px = SetOptions::default().with_expiration(SetExpiry::PX(60_000));
        let _: Option<String> = con.set_options("long", "v", px).await.unwrap();
        let pttl: i64 = con.pttl("long").await.unwrap();
        assert!((59_000..=60_000).contains(&pttl), "pttl {pttl}");
        let ttl: i64 = con.ttl("long").await.unwrap();
        assert!((59..=60).contains(&ttl), "ttl {ttl}");
        assert_eq!(con.ttl::<_, i64>("nope").await.unwrap(), -2);
        let () = con.set("plain", "v").await.unwrap();
        assert_eq!(con.ttl::<_, i64>("plain").await.unwrap(), -1);
        assert!(con.expire::<_, bool>("plain", 100).await.unwrap());
        assert!(con.ttl::<_, i64>("plain").await.unwrap() > 0);

        // A key that expires in 100 ms really goes: poll, within a bound.
        let px = SetOptions::default().with_expiration(SetExpiry::PX(100));
        let _: Option<String> = con.set_options("short", "v", px).await.unwrap();
        assert_eq!(con.exists::<_, i64>("short").await.unwrap(), 1);
        let mut gone = false;
        for _ in 0..100 {
            if !con.exists::<_, bool>("short").await.unwrap() {
                gone = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(gone, "key still there 2 s after a 100 ms expiry");
        let v: Option<String> = con.get("short").await.unwrap();
        assert_eq!(v, None);
        server.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelines() {
    bounded(async {
        let server = TestServer::start().await;
        let mut con = connect(&server.url()).await;

        let mut pipe = redis::pipe();
        for i in 0..500 {
            pipe.set(format!("key:{i}"), i).ignore();
        }
        for i in 0..500 {
            pipe.get(format!("key:{i}"));
        }
        let values: Vec<i64> = pipe.query_async(&mut con).await.unwrap();
        assert_eq!(values, (0..500).collect::<Vec<_>>());

        // An error in the middle of a pipeline does not disturb the others.
        let (a, b): (String, Option<String>) = redis::pipe()
            .set("a", "1")
            .ignore()
            .get("a")
            .get("missing")
            .query_async(&mut con)
            .await
            .unwrap();
        assert_eq!((a.as_str(), b), ("1", None));
        // A failing command in a pipeline (the redis crate reports it as the pipeline's
        // error) leaves the connection serving.
        let failed: redis::RedisResult<Vec<Value>> = redis::pipe()
            .get("a")
            .cmd("NOSUCHCOMMAND")
            .get("a")
            .query_async(&mut con)
            .await;
        let err = failed.unwrap_err();
        assert!(err.to_string().contains("unknown command"), "{err}");
        let v: String = con.get("a").await.unwrap();
        assert_eq!(v, "1");
        server.stop().await;
    })
    .await;
}

async fn pubsub_with(url: String) {
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut pubsub = client.get_async_pubsub().await.unwrap();
    pubsub.subscribe("news").await.unwrap();
    pubsub.psubscribe("sport.*").await.unwrap();
    let mut con = connect(&url).await;

    assert_eq!(con.publish::<_, _, i64>("news", "hello").await.unwrap(), 1);
    assert_eq!(
        con.publish::<_, _, i64>("sport.tennis", "ace")
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        con.publish::<_, _, i64>("weather", "rain").await.unwrap(),
        0
    );

    let mut messages = pubsub.on_message();
    let first = messages.next().await.unwrap();
    assert_eq!(first.get_channel_name(), "news");
    assert_eq!(first.get_payload::<String>().unwrap(), "hello");
    assert!(!first.from_pattern());
    let second = messages.next().await.unwrap();
    assert_eq!(second.get_channel_name(), "sport.tennis");
    assert_eq!(second.get_pattern::<String>().unwrap(), "sport.*");
    assert_eq!(second.get_payload::<String>().unwrap(), "ace");
    drop(messages);

    pubsub.unsubscribe("news").await.unwrap();
    // Unsubscribing is confirmed before the publish is sent, so nobody hears it.
    assert_eq!(con.publish::<_, _, i64>("news", "again").await.unwrap(), 0);
    assert_eq!(
        con.publish::<_, _, i64>("sport.golf", "birdie")
            .await
            .unwrap(),
        1
    );
    let third = pubsub.on_message().next().await.unwrap();
    assert_eq!(third.get_payload::<String>().unwrap(), "birdie");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubsub_resp2() {
    bounded(async {
        let server = TestServer::start().await;
        pubsub_with(server.url()).await;
        server.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pubsub_resp3() {
    bounded(async {
        let server = TestServer::start().await;
        pubsub_with(format!("{}?protocol=resp3", server.url())).await;
        server.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resp3_replies() {
    bounded(async {
        let server = TestServer::start().await;
        let mut con = connect(&format!("{}?protocol=resp3", server.url())).await;
        let () = con.set("k", "v").await.unwrap();
        assert_eq!(
            con.get::<_, Option<String>>("k").await.unwrap().as_deref(),
            Some("v")
        );
        // RESP3 has one null, `_`.
        let raw: Value = redis::cmd("GET")
            .arg("missing")
            .query_async(&mut con)
            .await
            .unwrap();
        assert_eq!(raw, Value::Nil);
        // HELLO in RESP3 is a map.
        let hello: Value = redis::cmd("HELLO")
            .arg(3)
            .query_async(&mut con)
            .await
            .unwrap();
        let Value::Map(pairs) = hello else {
            panic!("HELLO 3 gave {hello:?}")
        };
        let proto = pairs
            .iter()
            .find(|(k, _)| *k == Value::BulkString(b"proto".to_vec()));
        assert_eq!(proto.map(|(_, v)| v), Some(&Value::Int(3)));
        server.stop().await;
    })
    .await;
}
