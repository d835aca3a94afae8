//! Publishes a few messages on the `numbers` channel; run `sub` first to see them arrive.
//!
//! ```text
//! cargo run --example sub
//! cargo run --example pub
//! ```

use tokio_adapter::client::{Client, Result};

#[tokio::main]
async fn main() -> Result<()> {
    let mut client = Client::connect("127.0.0.1:6379").await?;
    for n in ["1", "two", "3", "four", "5"] {
        let receivers = client.publish("numbers", n).await?;
        println!("published {n:?} to {receivers} subscriber(s)");
    }
    Ok(())
}
