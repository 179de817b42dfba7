//! Caching headers, written in one place for every door (GraphQL, open
//! data, charts) from the decision the policy made
//! ([`schema::policy::Audience::caching`]): `public` only for what was
//! fetched without a token, `private, no-store` for everything read with
//! one, and `Vary: Authorization` on all of it, so a shared cache never
//! hands a response read with one token to a caller with another or none.
//! Refusals are never stored.

use actix_web::HttpResponseBuilder;
use actix_web::http::header;
use schema::policy::Caching;

/// The headers of a response whose caching the policy decided; shared
/// responses may be kept `max_age` seconds (`no-cache` without one).
pub fn headers(response: &mut HttpResponseBuilder, caching: Caching, max_age: Option<u32>) {
    response
        .insert_header((header::CACHE_CONTROL, caching.header(max_age)))
        .append_header((header::VARY, "Authorization"));
}

/// The headers of a refusal (an error of any status): not stored.
pub fn refusal(response: &mut HttpResponseBuilder) {
    headers(response, Caching::Private, None);
}

/// A response that set no caching headers of its own (an error before the
/// caller was known, a health check): never stored.
pub fn or_refusal(mut response: actix_web::HttpResponse) -> actix_web::HttpResponse {
    let headers = response.headers_mut();
    if !headers.contains_key(header::CACHE_CONTROL)
        && let Ok(never) = header::HeaderValue::from_str(&Caching::Private.header(None))
    {
        headers.insert(header::CACHE_CONTROL, never);
        headers.append(
            header::VARY,
            header::HeaderValue::from_static("Authorization"),
        );
    }
    response
}

/// How long a shared cache may keep a frozen read fetched without a token:
/// a PUBLISHED round's file, chart, or GraphQL GET answered wholly from
/// frozen rounds (guidance edits reach shared caches within this).
pub const FROZEN_MAX_AGE: u32 = 3600;

/// A strong `ETag` of a response body (a hash of its bytes).
pub fn etag(body: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(body);
    let tag: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{tag}\"")
}

/// Whether the client already holds the body tagged `tag` (`If-None-Match`).
pub fn unchanged(req: &actix_web::HttpRequest, tag: &str) -> bool {
    req.headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"))
}

/// A frozen body fetched without a token: kept by shared caches for
/// [`FROZEN_MAX_AGE`], with its `ETag`, and 304 when the client has it.
pub fn shared_frozen(
    req: &actix_web::HttpRequest,
    response: &mut HttpResponseBuilder,
    body: &[u8],
) -> bool {
    headers(response, Caching::Shared, Some(FROZEN_MAX_AGE));
    let tag = etag(body);
    let unchanged = unchanged(req, &tag);
    response.insert_header((header::ETAG, tag));
    if unchanged {
        response.status(actix_web::http::StatusCode::NOT_MODIFIED);
    }
    unchanged
}
