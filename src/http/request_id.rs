//! Request ids: one per request, in the log (the request's span) and on the answer, in
//! the shape of the dialect's own header ([`IdHeader`]: Zoom's `x-zm-trackingid`,
//! Cloudflare's `cf-ray`, the control plane's `x-request-id`, each declared by its dialect).

use std::fmt;

use axum::http::{HeaderMap, HeaderName, HeaderValue};

/// The longest incoming `x-request-id` that is honoured.
const MAX_LEN: usize = 64;

/// Which client-given `x-request-id` a dialect honours (any other gets a fresh id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GivenId {
    /// 1 to 64 of `A-Z a-z 0-9 . _ -`.
    Token,
    /// Exactly 16 hex digits, a ray id, kept in lower case.
    RayId,
}

/// How a dialect carries the request id on its answers, `<name>: <before><id><after>`,
/// and which id given by the client it keeps.
#[derive(Debug)]
pub struct IdHeader {
    pub name: HeaderName,
    pub before: &'static str,
    pub after: &'static str,
    pub honours: GivenId,
}

/// A request's id; a request extension, so handlers and error renderers can name it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RequestId {
    bytes: [u8; MAX_LEN],
    len: u8,
}

impl RequestId {
    /// A fresh id: 16 lower-case hex digits (64 random bits), which is also a ray id.
    pub fn generate() -> RequestId {
        let mut bytes = [0u8; MAX_LEN];
        let value: u64 = rand::random();
        for (i, byte) in bytes[..16].iter_mut().enumerate() {
            *byte = b"0123456789abcdef"[(value >> (60 - 4 * i)) as usize & 0xf];
        }
        RequestId { bytes, len: 16 }
    }

    /// The client's `x-request-id` when it is of the form the dialect honours, else a
    /// fresh id.
    pub fn for_request(headers: &HeaderMap, form: &IdHeader) -> RequestId {
        let Some(given) = headers.get("x-request-id").map(HeaderValue::as_bytes) else {
            return RequestId::generate();
        };
        let well_formed = match form.honours {
            GivenId::RayId => given.len() == 16 && given.iter().all(u8::is_ascii_hexdigit),
            GivenId::Token => {
                (1..=MAX_LEN).contains(&given.len())
                    && given.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            }
        };
        if !well_formed {
            return RequestId::generate();
        }
        let mut bytes = [0u8; MAX_LEN];
        bytes[..given.len()].copy_from_slice(given);
        if form.honours == GivenId::RayId {
            bytes[..16].make_ascii_lowercase();
        }
        RequestId { bytes, len: given.len() as u8 }
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII bytes are ever stored.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }

    /// The answer's header carrying this id, in the dialect's shape.
    pub fn header(&self, form: &IdHeader) -> (HeaderName, HeaderValue) {
        let value = format!("{}{self}{}", form.before, form.after);
        let value = HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("-"));
        (form.name.clone(), value)
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RequestId({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: IdHeader =
        IdHeader { name: HeaderName::from_static("x-request-id"), before: "", after: "", honours: GivenId::Token };
    const RAY: IdHeader =
        IdHeader { name: HeaderName::from_static("x-ray"), before: "v=1;", after: "-XYZ", honours: GivenId::RayId };

    #[test]
    fn generated_ids_are_ray_ids() {
        let id = RequestId::generate();
        assert_eq!(id.as_str().len(), 16);
        assert!(id.as_str().bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_ne!(RequestId::generate(), id);
    }

    #[test]
    fn incoming_ids_are_honoured_only_when_well_formed() {
        let mut headers = HeaderMap::new();
        headers.insert("x-request-id", HeaderValue::from_static("job-42.step_7"));
        assert_eq!(RequestId::for_request(&headers, &TOKEN).as_str(), "job-42.step_7");
        assert_ne!(RequestId::for_request(&headers, &RAY).as_str(), "job-42.step_7");
        headers.insert("x-request-id", HeaderValue::from_static("ABCDEF0123456789"));
        assert_eq!(RequestId::for_request(&headers, &RAY).as_str(), "abcdef0123456789");
        assert_eq!(RequestId::for_request(&headers, &TOKEN).as_str(), "ABCDEF0123456789");
        for bad in ["has space", "semi;colon", "", &"x".repeat(65)] {
            headers.insert("x-request-id", HeaderValue::from_str(bad).unwrap());
            assert_eq!(RequestId::for_request(&headers, &TOKEN).as_str().len(), 16, "{bad:?}");
        }
    }

    #[test]
    fn headers_take_the_declared_shape() {
        let mut headers = HeaderMap::new();
        headers.insert("x-request-id", HeaderValue::from_static("0123456789abcdef"));
        let id = RequestId::for_request(&headers, &RAY);
        assert_eq!(id.header(&RAY), (HeaderName::from_static("x-ray"), "v=1;0123456789abcdef-XYZ".parse().unwrap()));
        assert_eq!(id.header(&TOKEN), (HeaderName::from_static("x-request-id"), "0123456789abcdef".parse().unwrap()));
    }
}
