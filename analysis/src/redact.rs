//! Keeps credentials out of messages: the user and password of URLs, the query strings that
//! carry API keys, and the paths of chat webhooks (which are the credential). Everything that
//! ends up in a log line, an Event, a status or a metric label passes through here first.

/// What stands in place of a removed credential.
pub const REDACTED: &str = "<redacted>";

/// `address` for a message: without `user:password@`, and with its query string (which may
/// carry an API key) replaced by [`REDACTED`]. Text that is not a URL is returned scrubbed by
/// [`userinfo_in_text`].
pub fn address(address: &str) -> String {
    match url::Url::parse(address) {
        Ok(mut url) if url.has_host() => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.set_fragment(None);
            if url.query().is_some() {
                url.set_query(None);
                format!("{url}?{REDACTED}")
            } else {
                url.to_string()
            }
        }
        _ => userinfo_in_text(address),
    }
}

/// `url` of a chat webhook for a message: only its scheme, host and port, since the path of
/// a Slack, Teams or Discord webhook is itself the secret.
pub fn webhook_origin(url: &url::Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{}://{host}:{port}/{REDACTED}", url.scheme()),
        (Some(host), None) => format!("{}://{host}/{REDACTED}", url.scheme()),
        _ => REDACTED.to_owned(),
    }
}

/// `text` with the `user:password@` of every `scheme://user:password@host` in it removed, for
/// error messages that quote a URL (such as those of HTTP clients).
pub fn userinfo_in_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        let authority_end = after
            .find(|c: char| {
                matches!(c, '/' | '?' | '#')
                    || c.is_whitespace()
                    || c == '"'
                    || c == '\''
                    || c == ')'
            })
            .unwrap_or(after.len());
        let authority = &after[..authority_end];
        match authority.rfind('@') {
            Some(user_end) => out.push_str(&authority[user_end + 1..]),
            None => out.push_str(authority),
        }
        rest = &after[authority_end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_lose_their_user_password_and_query() {
        assert_eq!(
            address("https://admin:hunter2@prom.example:9090/api?key=abc#x"),
            "https://prom.example:9090/api?<redacted>"
        );
        assert_eq!(address("http://prometheus:9090"), "http://prometheus:9090/");
        assert_eq!(address("not a url user:pw@x"), "not a url user:pw@x");
    }

    #[test]
    fn webhook_urls_keep_only_their_origin() {
        let url = url::Url::parse("https://hooks.slack.com/services/T0/B0/SECRET").unwrap();
        assert_eq!(webhook_origin(&url), "https://hooks.slack.com/<redacted>");
        let url = url::Url::parse("http://127.0.0.1:8080/hook/SECRET").unwrap();
        assert_eq!(webhook_origin(&url), "http://127.0.0.1:8080/<redacted>");
    }

    #[test]
    fn user_info_in_free_text_is_removed_wherever_it_appears() {
        let text = "error sending request for url (http://u:p@a.example/x): \
                    connect to https://tok@b.example failed; mailto:me@x stays";
        assert_eq!(
            userinfo_in_text(text),
            "error sending request for url (http://a.example/x): connect to \
             https://b.example failed; mailto:me@x stays"
        );
        assert_eq!(userinfo_in_text("://@"), "://");
        assert_eq!(userinfo_in_text("é://ü@ö"), "é://ö");
    }
}
