//! Subscribes to the `numbers` channel and prints messages as they arrive (see `pub`).
//!
//! ```text
//! cargo run --example sub
//! ```

use futures_util::StreamExt;
use tokio_adapter::client::{Client, Result};

#[tokio::main]
async fn main() -> Result<()> {
    let client = Client::connect("127.0.0.1:6379").await?;
    let subscriber = client.subscribe(&["numbers"]).await?;
    println!(
        "subscribed to {:?}; waiting for messages",
        subscriber.channels()
    );
    let messages = subscriber.into_stream();
    tokio::pin!(messages);
    while let Some(message) = messages.next().await {
        let message = message?;
        println!("got {:?} on {:?}", message.payload, message.channel);
    }
    Ok(())
}
