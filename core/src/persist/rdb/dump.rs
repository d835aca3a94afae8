//! DUMP and RESTORE payloads, as Redis 7.0 makes them: the value as it would be in an RDB
//! file (type byte, then the encoded value), the RDB version as two little-endian bytes,
//! and the CRC64 (Jones, as the RDB checksum) of everything before it as eight
//! little-endian bytes. A payload is bytes from a client: every length is checked against
//! what is there before anything is allocated for it.

use super::read::RdbReader;
use super::write::{put_function, type_and_value, Lzf};
use super::RDB_VERSION;
use crate::db::Value;
use crate::persist::crc64;

/// Why a RESTORE payload was refused, as Redis words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RestoreError {
    /// Shorter than its footer, a newer RDB version, or a checksum that does not match.
    #[error("ERR DUMP payload version or checksum are wrong")]
    VersionOrChecksum,
    /// The value does not decode (or is of a type we do not hold).
    #[error("ERR Bad data format")]
    BadData,
}

/// DUMP's payload for `value`.
///
/// ```
/// use redish_core::db::Value;
/// use redish_core::persist::rdb::{dump_payload, restore_payload};
///
/// let payload = dump_payload(&Value::str(b"hello"));
/// assert_eq!(&payload[..7], b"\x00\x05hello");
/// assert_eq!(restore_payload(&payload), Ok(Value::str(b"hello")));
/// ```
pub fn dump_payload(value: &Value) -> Vec<u8> {
    seal_payload(&type_and_value(value))
}

/// A payload of `body` (a type byte and an encoded value) with the footer DUMP adds: the
/// RDB version and the checksum.
pub fn seal_payload(body: &[u8]) -> Vec<u8> {
    let mut out = body.to_vec();
    out.extend_from_slice(&(RDB_VERSION as u16).to_le_bytes());
    let crc = crc64::update(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// FUNCTION DUMP's payload for these library sources: each as its RDB record
/// (`RDB_OPCODE_FUNCTION2` and the source as a string), then the footer DUMP adds.
pub fn function_payload<'c>(codes: impl IntoIterator<Item = &'c [u8]>) -> Vec<u8> {
    let mut body = Vec::new();
    let mut lzf = Lzf::new();
    for code in codes {
        put_function(&mut body, code, &mut lzf);
    }
    seal_payload(&body)
}

/// FUNCTION RESTORE's reading of `payload`: the library sources it holds, or Redis's
/// error (without `ERR `).
pub fn read_function_payload(payload: &[u8]) -> Result<Vec<bytes::Bytes>, String> {
    let version = check_footer(payload)
        .map_err(|_| String::from("DUMP payload version or checksum are wrong"))?;
    let mut reader = RdbReader::for_value(payload, u32::from(version));
    let mut codes = Vec::new();
    // Records up to the footer, as Redis reads them (a record may run into it).
    while payload.len() - reader.position().min(payload.len()) > 10 {
        let Ok(type_byte) = reader.string_type() else {
            return Err("can not read data type".into());
        };
        match type_byte {
            super::opcode::FUNCTION2 => {}
            super::opcode::FUNCTION_PRE_GA => {
                return Err("Pre-GA function format not supported".into())
            }
            _ => return Err("given type is not a function".into()),
        }
        let code = reader
            .string_bytes()
            .map_err(|_| String::from("Failed loading library payload"))?;
        codes.push(code.into());
    }
    Ok(codes)
}

/// Checks a payload's footer (`verifyDumpPayload`): its RDB version.
fn check_footer(payload: &[u8]) -> Result<u16, RestoreError> {
    let len = payload.len();
    if len < 10 {
        return Err(RestoreError::VersionOrChecksum);
    }
    let footer = &payload[len - 10..];
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    if u32::from(version) > RDB_VERSION {
        return Err(RestoreError::VersionOrChecksum);
    }
    let crc = crc64::update(0, &payload[..len - 8]);
    if crc.to_le_bytes() != footer[2..] {
        return Err(RestoreError::VersionOrChecksum);
    }
    Ok(version)
}

/// RESTORE's reading of `payload` (Redis's `verifyDumpPayload`, then `rdbLoadObject`):
/// bytes after the value and before the footer are ignored, as Redis ignores them.
pub fn restore_payload(payload: &[u8]) -> Result<Value, RestoreError> {
    let version = check_footer(payload)?;
    // Redis reads the value from the whole buffer, footer included (it is only ever the
    // value's own bytes that it consumes from a well-formed payload).
    RdbReader::for_value(payload, u32::from(version))
        .type_and_value()
        .map_err(|_| RestoreError::BadData)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_string_payload_restores() {
        // DUMP of "hello" on redis-server 7.0.15.
        let payload = b"\x00\x05hello\x0a\x00\x63\x72\xdf\x76\x65\x34\x20\x0a";
        assert_eq!(dump_payload(&Value::str(b"hello")), payload.to_vec());
        assert_eq!(restore_payload(payload), Ok(Value::str(b"hello")));
    }

    #[test]
    fn footer_is_checked() {
        let mut p = dump_payload(&Value::str(b"hello"));
        assert_eq!(
            restore_payload(&p[..9]),
            Err(RestoreError::VersionOrChecksum)
        );
        let last = p.len() - 1;
        p[last] ^= 1;
        assert_eq!(restore_payload(&p), Err(RestoreError::VersionOrChecksum));
        // A newer version than 7.0 writes.
        let mut q = b"\x00\x05hello\x0b\x00".to_vec();
        let crc = crc64::update(0, &q);
        q.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(restore_payload(&q), Err(RestoreError::VersionOrChecksum));
        // A type we do not know, with a good footer.
        let mut r = b"\x63\x05hello\x0a\x00".to_vec();
        let crc = crc64::update(0, &r);
        r.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(restore_payload(&r), Err(RestoreError::BadData));
    }
}
