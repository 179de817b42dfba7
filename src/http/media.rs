//! Media types of GraphQL over HTTP: what a POST may carry (`Content-Type`)
//! and what a response is (`Accept`, with q-values).

use actix_web::HttpRequest;
use actix_web::http::header;

/// The two media types a GraphQL response can be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Media {
    /// `application/json`: request errors are 200 too (the legacy type).
    Json,
    /// `application/graphql-response+json`: a request that cannot run is 400.
    GraphqlResponse,
}

impl Media {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::GraphqlResponse => "application/graphql-response+json",
        }
    }
}

/// A media range of an `Accept` header: the type, its q-value, and how
/// specific it is (2 exact, 1 `type/*`, 0 `*/*`).
fn ranges(accept: &str) -> Vec<(String, f32, u8)> {
    accept
        .split(',')
        .filter_map(|range| {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next()?.to_ascii_lowercase();
            if media.is_empty() {
                return None;
            }
            let q = parts
                .filter_map(|p| p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")))
                .find_map(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0)
                .clamp(0.0, 1.0);
            let specificity = match media.as_str() {
                "*/*" => 0,
                m if m.ends_with("/*") => 1,
                _ => 2,
            };
            Some((media, q, specificity))
        })
        .collect()
}

/// The q-value and specificity `accept` gives `media`: its most specific
/// matching range (RFC 9110 §12.5.1).
fn preference(ranges: &[(String, f32, u8)], media: &str) -> Option<(f32, u8)> {
    let kind = media.split('/').next().unwrap_or_default();
    ranges
        .iter()
        .filter(|(range, _, _)| {
            range == media || range == "*/*" || range.strip_suffix("/*") == Some(kind)
        })
        .max_by_key(|(_, _, specificity)| *specificity)
        .map(|(_, q, specificity)| (*q, *specificity))
}

/// The response type for a request: without `Accept`, JSON; else the one
/// the client weighs higher, `application/graphql-response+json` where both
/// are named alike, JSON where only a wildcard names them; `None` when the
/// client accepts neither (406).
pub(super) fn negotiate(req: &HttpRequest) -> Option<Media> {
    let Some(accept) = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty())
    else {
        return Some(Media::Json);
    };
    let ranges = ranges(accept);
    let json = preference(&ranges, Media::Json.as_str()).filter(|(q, _)| *q > 0.0);
    let graphql = preference(&ranges, Media::GraphqlResponse.as_str()).filter(|(q, _)| *q > 0.0);
    match (json, graphql) {
        (None, None) => None,
        (Some(_), None) => Some(Media::Json),
        (None, Some(_)) => Some(Media::GraphqlResponse),
        (Some((qj, sj)), Some((qg, sg))) => {
            if qg > qj || (qg == qj && sg == 2 && sg >= sj) {
                Some(Media::GraphqlResponse)
            } else {
                Some(Media::Json)
            }
        }
    }
}

/// Whether a POST's `Content-Type` is one GraphQL over HTTP defines (JSON,
/// in UTF-8). Anything else — `text/plain`, a form, none — is refused with
/// 415: a browser sends those cross-site without asking (a "simple
/// request"), so accepting them would let any page run a mutation with the
/// user's credentials (CSRF).
pub(super) fn is_graphql_body(req: &HttpRequest) -> bool {
    let Some(content_type) = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mut parts = content_type.split(';').map(str::trim);
    let essence = parts.next().unwrap_or_default().to_ascii_lowercase();
    let utf8 = parts.all(|p| {
        p.to_ascii_lowercase()
            .strip_prefix("charset=")
            .is_none_or(|c| c.trim_matches('"') == "utf-8")
    });
    utf8 && (essence == Media::Json.as_str() || essence == Media::GraphqlResponse.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn with_accept(accept: &str) -> Option<Media> {
        negotiate(
            &TestRequest::default()
                .insert_header((header::ACCEPT, accept))
                .to_http_request(),
        )
    }

    #[test]
    fn accept_is_negotiated_with_q_values() {
        assert_eq!(
            negotiate(&TestRequest::default().to_http_request()),
            Some(Media::Json)
        );
        assert_eq!(with_accept("application/json"), Some(Media::Json));
        assert_eq!(
            with_accept("application/graphql-response+json"),
            Some(Media::GraphqlResponse)
        );
        assert_eq!(
            with_accept("application/graphql-response+json, application/json"),
            Some(Media::GraphqlResponse)
        );
        assert_eq!(
            with_accept("application/graphql-response+json;q=0.5, application/json;q=0.9"),
            Some(Media::Json)
        );
        assert_eq!(
            with_accept("application/json;q=0.1, */*;q=0.5"),
            Some(Media::GraphqlResponse)
        );
        assert_eq!(with_accept("*/*"), Some(Media::Json));
        assert_eq!(with_accept("application/*"), Some(Media::Json));
        assert_eq!(with_accept("text/html"), None);
        assert_eq!(with_accept("application/json;q=0"), None);
    }

    #[test]
    fn only_json_bodies_are_graphql_requests() {
        let with = |ct: &str| {
            is_graphql_body(
                &TestRequest::default()
                    .insert_header((header::CONTENT_TYPE, ct))
                    .to_http_request(),
            )
        };
        assert!(with("application/json"));
        assert!(with("application/json; charset=utf-8"));
        assert!(with("Application/JSON;charset=\"UTF-8\""));
        assert!(with("application/graphql-response+json"));
        assert!(!with("text/plain"));
        assert!(!with("application/x-www-form-urlencoded"));
        assert!(!with("multipart/form-data; boundary=x"));
        assert!(!with("application/graphql"));
        assert!(!with("application/json; charset=latin1"));
        assert!(!is_graphql_body(&TestRequest::default().to_http_request()));
    }
}
