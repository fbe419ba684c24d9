//! The protobuf wire format: varints, length-delimited fields, and base64 for `bytes` values.

/// One protobuf field's payload.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Payload<'a> {
    /// Wire type 0: integers, booleans, enums.
    Varint(u64),
    /// Wire type 2: strings, bytes, messages, packed lists.
    Bytes(&'a [u8]),
}

fn varint(data: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0_u64;
    for shift in (0..64).step_by(7) {
        let byte = *data.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// The fields of a message, in wire order; `None` when the bytes are not a message made of
/// varint and length-delimited fields (Kubernetes messages use no other wire types).
pub(crate) fn fields(data: &[u8]) -> Option<Vec<(u64, Payload<'_>)>> {
    let mut at = 0;
    let mut out = Vec::new();
    while at < data.len() {
        let key = varint(data, &mut at)?;
        let payload = match key & 7 {
            0 => Payload::Varint(varint(data, &mut at)?),
            2 => {
                let len = usize::try_from(varint(data, &mut at)?).ok()?;
                let bytes = data.get(at..at.checked_add(len)?)?;
                at += len;
                Payload::Bytes(bytes)
            }
            _ => return None,
        };
        out.push((key >> 3, payload));
    }
    Some(out)
}

/// The varints of a packed repeated field.
pub(crate) fn packed_varints(data: &[u8]) -> Option<Vec<u64>> {
    let mut at = 0;
    let mut out = Vec::new();
    while at < data.len() {
        out.push(varint(data, &mut at)?);
    }
    Some(out)
}

/// Standard base64 with padding, as JSON carries `bytes` fields.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(TABLE[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_pads_like_the_standard_alphabet() {
        assert_eq!(base64(b"hello"), "aGVsbG8=");
        assert_eq!(base64(b"hi"), "aGk=");
        assert_eq!(base64(b"abc"), "YWJj");
    }

    #[test]
    fn varints_decode_across_bytes_and_truncation_fails() {
        // field 1, varint 300 (0xac 0x02)
        let parsed = fields(&[0x08, 0xac, 0x02]).unwrap();
        assert!(matches!(parsed[0], (1, Payload::Varint(300))));
        assert!(fields(&[0x08, 0xac]).is_none());
        assert!(fields(&[0x0a, 0x05, b'a']).is_none(), "length past the end");
        assert!(fields(&[0x0d, 0, 0, 0, 0]).is_none(), "fixed32 is not used");
    }
}
