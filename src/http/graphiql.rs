//! GraphiQL, served by mognad itself: `GET /graphql` from a browser (outside
//! production) answers with a page whose scripts and styles are pinned
//! production builds built into the binary (`assets/graphiql/`, with their
//! licences and hashes), served from `/graphiql/{file}`. The page is the same
//! online and offline; its `Content-Security-Policy` lets it load nothing from
//! another origin. The Headers tab starts with an example Authorization header
//! (a placeholder the page does not send) and the query editor with a query
//! that runs without a token and says how to get one (`mognad token`).

use actix_web::http::header::{self, ContentType};
use actix_web::{HttpRequest, HttpResponse, web};
use schema::policy::Caching;
use serde_json::json;
use std::sync::Arc;

use super::AppState;

/// The files the page loads: name, media type, bytes.
const ASSETS: [(&str, &str, &[u8]); 5] = [
    (
        "graphiql.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/graphiql.min.js"),
    ),
    (
        "graphiql.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/graphiql/graphiql.min.css"),
    ),
    (
        "react.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
    ),
    (
        "start.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/graphiql/start.js"),
    ),
];

/// What the page may load: only this origin (styles inline too, as
/// CodeMirror sets them; fonts and icons as `data:` URLs in the CSS).
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// The query the editor starts with: it runs without a token.
const FIRST_QUERY: &str = r#"# mognad: SKR's follow-up of municipal information security.
#
# Without a token you read published figures (below).
# To read as a kommun, run where the server runs (its
# development secret is in ./data/):
#
#   mognad token --role kommun --kommun 1280
#
# and put the token in the Headers tab below, in place
# of the <…> placeholder: {"Authorization": "Bearer eyJ…"}
# (SKR: mognad token --role skr_analyst). Then try
#   { viewer { role municipality { name } } }
#
# Run with the ▶ button or Ctrl-Enter.
{
  maturityAggregates(
    roundId: "00000000-0000-0000-0000-000000002023"
    grouping: NATIONAL
  ) {
    area { number title }
    meanLevel
  }
}
"#;

/// The example Authorization header; the page does not send it while the
/// value holds the `<…>` placeholder.
const HEADERS: &str = r#"{
  "Authorization": "Bearer <token: mognad token --role kommun --kommun 1280>"
}"#;

/// The GraphiQL page.
pub(super) fn page() -> HttpResponse {
    let config = json!({ "endpoint": "/graphql", "query": FIRST_QUERY, "headers": HEADERS });
    // JSON inside <script>: `</` must not close the element.
    let config = config.to_string().replace("</", "<\\/");
    let html = format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mognad · GraphiQL</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/graphiql/graphiql.min.css">
<style>html, body, #graphiql {{ height: 100%; margin: 0; }}</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script type="application/json" id="mognad-config">{config}</script>
<script src="/graphiql/react.production.min.js"></script>
<script src="/graphiql/react-dom.production.min.js"></script>
<script src="/graphiql/graphiql.min.js"></script>
<script src="/graphiql/start.js"></script>
</body>
</html>
"#
    );
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .insert_header((header::CONTENT_SECURITY_POLICY, POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, Caching::Private.header(None)))
        .body(html)
}

/// `GET /graphiql/{file}`: one of the page's files; 404 in production (no
/// GraphiQL there) and for any other name. Kept by shared caches but checked
/// again (`no-cache` with an ETag), so a new build's files are seen at once.
pub(super) async fn asset(
    state: web::Data<Arc<AppState>>,
    name: web::Path<String>,
    req: HttpRequest,
) -> HttpResponse {
    let found = ASSETS.iter().find(|(file, _, _)| *file == name.as_str());
    let (Some((_, media, bytes)), true) = (found, state.graphiql) else {
        return HttpResponse::NotFound()
            .content_type(ContentType::plaintext())
            .body("not found");
    };
    let tag = super::caching::etag(bytes);
    let unchanged = super::caching::unchanged(&req, &tag);
    let mut response = if unchanged {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    super::caching::headers(&mut response, Caching::Shared, None);
    response
        .insert_header((header::ETAG, tag))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    if unchanged {
        return response.finish();
    }
    response.content_type(*media).body(*bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The vendored files are the ones `assets/graphiql/README.md` pins.
    #[test]
    fn graphiql_assets_are_the_pinned_ones() {
        let pins = include_str!("../../assets/graphiql/README.md");
        for (name, _, bytes) in &ASSETS[..4] {
            let sum = hex(&sha2::Sha256::digest(bytes));
            let row = pins
                .lines()
                .find(|l| l.starts_with(&format!("| `{name}`")))
                .unwrap_or_else(|| panic!("{name} is listed"));
            assert!(row.contains(&sum), "{name}: {sum} is not the pinned hash");
        }
    }

    #[test]
    fn the_page_names_no_other_origin() {
        let page = page();
        let policy = page.headers().get(header::CONTENT_SECURITY_POLICY).unwrap();
        assert!(policy.to_str().unwrap().contains("default-src 'none'"));
        let body = block_on(actix_web::body::to_bytes(page.into_body())).unwrap();
        let html = std::str::from_utf8(&body).unwrap();
        assert!(!html.contains("http://") && !html.contains("https://"));
        assert!(html.contains("src=\"/graphiql/graphiql.min.js\""));
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }
}
