//! Short byte strings stored inline, for the keyspace's keys and the sorted set's members.

/// Bytes, inline when at most [`SmallBytes::INLINE`] long, as most keys and members are:
/// comparing one during a lookup then reads the entry's own cache line instead of chasing
/// one more pointer (the profile of SET under load had a quarter of the server's time in
/// that miss), and costs no allocation. 24 bytes either way.
#[derive(Clone)]
pub(crate) enum SmallBytes {
    Inline {
        len: u8,
        bytes: [u8; SmallBytes::INLINE],
    },
    Heap(Box<[u8]>),
}

impl SmallBytes {
    pub(crate) const INLINE: usize = 22;

    pub(crate) fn new(b: &[u8]) -> SmallBytes {
        if b.len() <= SmallBytes::INLINE {
            let mut bytes = [0; SmallBytes::INLINE];
            bytes[..b.len()].copy_from_slice(b);
            SmallBytes::Inline {
                len: b.len() as u8,
                bytes,
            }
        } else {
            SmallBytes::Heap(b.into())
        }
    }

    pub(crate) fn to_box(&self) -> Box<[u8]> {
        (**self).into()
    }
}

impl std::ops::Deref for SmallBytes {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        match self {
            SmallBytes::Inline { len, bytes } => &bytes[..usize::from(*len)],
            SmallBytes::Heap(b) => b,
        }
    }
}

impl std::fmt::Debug for SmallBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", (**self).escape_ascii().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::SmallBytes;

    #[test]
    fn short_inline_long_on_the_heap_same_bytes() {
        assert_eq!(std::mem::size_of::<SmallBytes>(), 24);
        for len in [0, 1, SmallBytes::INLINE, SmallBytes::INLINE + 1, 100] {
            let b: Vec<u8> = (0..len as u8).collect();
            let s = SmallBytes::new(&b);
            assert_eq!(&*s, &b[..]);
            assert_eq!(
                matches!(s, SmallBytes::Inline { .. }),
                len <= SmallBytes::INLINE
            );
            assert_eq!(&*s.to_box(), &b[..]);
        }
    }
}
