//! Credentials for a metrics backend, read from the data of the Secret named in `secretRef`.
//!
//! The caller fetches the Secret; this crate has no Kubernetes client.

use std::collections::BTreeMap;
use std::fmt;

/// How requests to a backend authenticate.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// `Authorization: Bearer <token>`, from the Secret key `token`.
    Bearer(String),
    /// HTTP basic authentication, from the Secret keys `username` and `password`.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: String,
    },
}

// Never print secrets, not even in debug output.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            Credentials::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
        }
    }
}

/// Why a Secret's data does not hold usable credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    /// Neither `token` nor both `username` and `password` are present.
    #[error(
        "the secret has neither a `token` key nor both `username` and `password` keys (found keys: {0})"
    )]
    Missing(String),
    /// A value is not UTF-8 text.
    #[error("the secret's `{0}` value is not UTF-8 text")]
    NotUtf8(&'static str),
}

impl CredentialsError {
    /// A low-cardinality label for metrics and events.
    pub fn category(&self) -> &'static str {
        match self {
            CredentialsError::Missing(_) => "credentials_missing",
            CredentialsError::NotUtf8(_) => "credentials_not_utf8",
        }
    }
}

impl Credentials {
    /// Reads credentials from a Secret's (base64-decoded) data: `token` wins over
    /// `username`/`password`. Surrounding whitespace (a trailing newline from `echo`) is dropped.
    pub fn from_secret_data(data: &BTreeMap<String, Vec<u8>>) -> Result<Self, CredentialsError> {
        let text = |key: &'static str| -> Result<Option<String>, CredentialsError> {
            data.get(key)
                .map(|bytes| {
                    std::str::from_utf8(bytes)
                        .map(|s| s.trim().to_owned())
                        .map_err(|_| CredentialsError::NotUtf8(key))
                })
                .transpose()
        };
        if let Some(token) = text("token")? {
            return Ok(Credentials::Bearer(token));
        }
        match (text("username")?, text("password")?) {
            (Some(username), Some(password)) => Ok(Credentials::Basic { username, password }),
            _ => Err(CredentialsError::Missing(
                data.keys().cloned().collect::<Vec<_>>().join(", "),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn a_token_is_a_bearer_credential_and_wins_over_basic() {
        let c = Credentials::from_secret_data(&data(&[
            ("token", "abc\n"),
            ("username", "u"),
            ("password", "p"),
        ]))
        .unwrap();
        assert_eq!(c, Credentials::Bearer("abc".into()));
    }

    #[test]
    fn username_and_password_are_basic_auth() {
        let c =
            Credentials::from_secret_data(&data(&[("username", "u"), ("password", "p")])).unwrap();
        assert_eq!(
            c,
            Credentials::Basic {
                username: "u".into(),
                password: "p".into()
            }
        );
    }

    #[test]
    fn a_username_alone_is_an_error_listing_the_keys() {
        let err = Credentials::from_secret_data(&data(&[("username", "u")])).unwrap_err();
        assert_eq!(err, CredentialsError::Missing("username".into()));
    }

    #[test]
    fn debug_output_hides_secrets() {
        let c = Credentials::Basic {
            username: "u".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
