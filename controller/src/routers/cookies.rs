//! Session-affinity cookies, as the routers that pin users write them: the `Set-Cookie` value
//! with the attributes of `spec.analysis.sessionAffinity`, the regular expression that matches
//! a cookie in a request's `Cookie` header, and the primary's cookie beside the canary's.

use serin_crds::canary::SessionAffinity;

/// `name=value` with the attributes of `affinity`; `max_age` overrides its `maxAge` (`-1`
/// expires the cookie).
pub(super) fn set_cookie(cookie: &str, affinity: &SessionAffinity, max_age: Option<i64>) -> String {
    let max_age = max_age.unwrap_or_else(|| i64::from(affinity.max_age.unwrap_or(86_400)));
    let mut parts = vec![cookie.to_owned(), format!("Max-Age={max_age}")];
    parts.extend(affinity.path.as_ref().map(|p| format!("Path={p}")));
    parts.extend(affinity.domain.as_ref().map(|d| format!("Domain={d}")));
    parts.extend((affinity.http_only == Some(true)).then(|| "HttpOnly".to_owned()));
    parts.extend((affinity.secure == Some(true)).then(|| "Secure".to_owned()));
    parts.extend(affinity.same_site.map(|s| format!("SameSite={s:?}")));
    parts.extend((affinity.partitioned == Some(true)).then(|| "Partitioned".to_owned()));
    parts.join("; ")
}

/// A regular expression matching a `Cookie` header that carries `cookie` (`name=value`).
pub(super) fn cookie_regex(cookie: &str) -> Option<String> {
    let (name, value) = cookie.split_once('=')?;
    Some(format!(
        ".*{}={}.*",
        escape_regex(name),
        escape_regex(value)
    ))
}

/// The primary's cookie for a run whose canary cookie is `cookie`, when
/// `primaryCookieName` is set: the same value under that name.
pub(super) fn primary_cookie(cookie: &str, affinity: &SessionAffinity) -> Option<String> {
    let name = affinity.primary_cookie_name.as_ref()?;
    let (_, value) = cookie.split_once('=')?;
    Some(format!("{name}={value}"))
}

/// Escapes the characters RE2 (and Envoy's regular expressions) treat specially.
pub(super) fn escape_regex(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if r"\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_carry_the_affinity_attributes_and_match_by_name_and_value() {
        let affinity = SessionAffinity {
            cookie_name: "canary".into(),
            primary_cookie_name: Some("stable".into()),
            max_age: Some(60),
            path: Some("/".into()),
            secure: Some(true),
            ..SessionAffinity::default()
        };
        assert_eq!(
            set_cookie("canary=a.b", &affinity, None),
            "canary=a.b; Max-Age=60; Path=/; Secure"
        );
        assert_eq!(
            set_cookie("canary=a.b", &affinity, Some(-1)),
            "canary=a.b; Max-Age=-1; Path=/; Secure"
        );
        assert_eq!(
            cookie_regex("canary=a.b").as_deref(),
            Some(r".*canary=a\.b.*")
        );
        assert_eq!(cookie_regex("no-value"), None);
        assert_eq!(
            primary_cookie("canary=x1", &affinity).as_deref(),
            Some("stable=x1")
        );
    }
}
