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
