//! Sets a key and reads it back. Start a server first: `cargo run --bin server`.
//!
//! ```text
//! cargo run --example hello_world
//! ```

use tokio_adapter::client::{Client, Result};

#[tokio::main]
async fn main() -> Result<()> {
    let mut client = Client::connect("127.0.0.1:6379").await?;
    client.set("hello", "world").await?;
    let value = client.get("hello").await?;
    println!(
        "got value from the server; success={}",
        value.as_deref() == Some(&b"world"[..])
    );
    Ok(())
}
