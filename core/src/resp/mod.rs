//! RESP2 and RESP3: frames, incremental decoders and the encoder.
//!
//! Two decoders share the same limits:
//! - [`Decoder`] reads any RESP2/RESP3 frame: what a client reads from a server.
//! - [`RequestDecoder`] reads what a server reads from clients: arrays of bulk strings or
//!   inline commands, as `Vec<Bytes>` arguments, with Redis's errors for anything else.
//!
//! Both take bytes out of a caller-owned [`bytes::BytesMut`] as they complete them and keep
//! their progress between calls, so input fed in small chunks is scanned once. Payloads come
//! out as [`bytes::Bytes`] slices of that buffer, never copies.

mod decode;
mod encode;
mod error;
mod frame;
mod limits;
mod request;

pub use decode::Decoder;
pub use encode::{
    encode, encode_array_len, encode_bulk, encode_command, encode_double, encode_error,
    encode_integer, encode_null, encode_simple,
};
pub use error::ProtocolError;
pub use frame::{Frame, Protocol};
pub use limits::Limits;
pub(crate) use request::split_args;
pub use request::RequestDecoder;
