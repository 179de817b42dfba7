//! A browser on another origin: headless Chromium loads a page served from
//! another port, which calls the API with a bearer token (a CORS preflight
//! and the request) and renders a kommun's spider-chart numbers. A page
//! from an origin not in `MOGNAD_CORS_ORIGINS` is refused by the browser.
//!
//! GraphiQL, served by mognad from files built into it, is drawn with the
//! network cut off (every name but 127.0.0.1 unresolvable).
//!
//! Needs Debian's `chromium` (`.ci/run` installs it); skips with a message
//! where no Chromium is installed.

use std::path::PathBuf;
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

use crate::helpers::{ROUND_2023, kommun_token, spawn_app, spawn_app_with};

/// The report's national means of the nine areas (2023, Figur 4).
const REPORT_MEANS: [f64; 9] = [1.24, 1.62, 1.36, 1.43, 1.49, 1.39, 1.46, 1.45, 1.19];

const QUERY: &str =
    "query($r: ID!) { myComparison(roundId: $r) { area { number } level groupMean nationalMean } }";

/// The first Chromium on the PATH.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome", "chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|p| p.is_file())
}

/// A page that asks `api` for the kommun's comparison with `token` and
/// draws it as a table, one row per area; or says why it could not.
fn page(api: &str, token: &str) -> String {
    let request = json!({ "query": QUERY, "variables": { "r": ROUND_2023 } });
    format!(
        r#"<!doctype html>
<html lang="sv"><head><meta charset="utf-8"><title>Mognad</title></head>
<body>
<table id="chart"></table>
<p id="status">loading</p>
<script>
fetch("{api}/graphql", {{
  method: "POST",
  headers: {{ "content-type": "application/json", "authorization": "Bearer {token}" }},
  body: JSON.stringify({request})
}})
  .then(r => r.json())
  .then(body => {{
    document.getElementById("chart").innerHTML = body.data.myComparison
      .filter(c => c.area.number !== null)
      .map(c => `<tr id="area-${{c.area.number}}"><td class="level">${{c.level}}</td>` +
                `<td class="group">${{c.groupMean}}</td><td class="nation">${{c.nationalMean}}</td></tr>`)
      .join("");
    document.getElementById("status").textContent = "ok";
  }})
  .catch(e => {{ document.getElementById("status").textContent = "refused: " + e.name; }});
</script>
</body></html>"#
    )
}

/// Serves `html` at `/` on a port of its own; returns the page's origin.
fn serve_page(html: String) -> String {
    let server = HttpServer::new(move || {
        let html = html.clone();
        App::new().route(
            "/",
            web::get().to(move || {
                let html = html.clone();
                async move {
                    HttpResponse::Ok()
                        .content_type("text/html; charset=utf-8")
                        .body(html)
                }
            }),
        )
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());
    format!("http://127.0.0.1:{port}")
}

/// The DOM after the page's scripts ran (headless, virtual time lets the
/// fetch finish).
async fn render(browser: PathBuf, url: String) -> String {
    render_with(browser, url, &[]).await
}

/// [`render`] with more Chromium switches.
async fn render_with(browser: PathBuf, url: String, switches: &[&str]) -> String {
    let switches: Vec<String> = switches.iter().map(|s| (*s).to_owned()).collect();
    let run = tokio::task::spawn_blocking(move || {
        std::process::Command::new(browser)
            .args(switches)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--virtual-time-budget=15000",
                "--dump-dom",
                &url,
            ])
            .output()
            .unwrap()
    });
    let output = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("Chromium finished within two minutes")
        .unwrap();
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The text of the first element after `marker` (`<td class="…">text<`).
fn cell(row: &str, class: &str) -> String {
    let marker = format!("class=\"{class}\">");
    let start = row.find(&marker).unwrap() + marker.len();
    row[start..start + row[start..].find('<').unwrap()].to_owned()
}

#[tokio::test]
async fn a_page_on_a_listed_origin_draws_the_chart_and_another_is_refused() {
    let Some(browser) = chromium() else {
        eprintln!("skipped: no Chromium on the PATH (apt-get install chromium; .ci/run does)");
        return;
    };
    let token = kommun_token("1280");
    // The page's origin must be known before the API starts, and the page
    // must know the API's address: the page server is started first, with
    // the page filled in once the API listens.
    let html = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let served = html.clone();
    let server = HttpServer::new(move || {
        let served = served.clone();
        App::new().route(
            "/",
            web::get().to(move || {
                let body = served.lock().unwrap().clone();
                async move {
                    HttpResponse::Ok()
                        .content_type("text/html; charset=utf-8")
                        .body(body)
                }
            }),
        )
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let listed = format!("http://127.0.0.1:{}", server.addrs()[0].port());
    tokio::spawn(server.run());

    let app = spawn_app_with(|c| c.cors_origins = vec![listed.clone()]).await;
    mognad::demo::load(&app.db, 5).await.unwrap();
    *html.lock().unwrap() = page(&app.address, &token);

    // What the API answers a client that is not a browser.
    let expected = app.ok(&token, QUERY, json!({ "r": ROUND_2023 })).await["myComparison"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !c["area"]["number"].is_null())
        .cloned()
        .collect::<Vec<Value>>();
    assert_eq!(expected.len(), 9);

    let dom = render(browser.clone(), format!("{listed}/")).await;
    assert!(dom.contains(r#"<p id="status">ok</p>"#), "{dom}");
    let mut national = Vec::new();
    for c in &expected {
        let number = c["area"]["number"].as_i64().unwrap();
        let marker = format!("<tr id=\"area-{number}\">");
        let row = &dom[dom
            .find(&marker)
            .unwrap_or_else(|| panic!("row {number}: {dom}"))..];
        let row = &row[..row.find("</tr>").unwrap()];
        assert_eq!(cell(row, "level"), c["level"].to_string(), "area {number}");
        for (class, field) in [("group", "groupMean"), ("nation", "nationalMean")] {
            // serde_json reads floats to within a unit in the last place
            // (no `float_roundtrip`); the browser reads them exactly.
            let shown: f64 = cell(row, class).parse().unwrap();
            let sent = c[field].as_f64().unwrap();
            assert!(
                (shown - sent).abs() < 1e-12,
                "area {number} {class}: {shown} vs {sent}"
            );
        }
        national.push((cell(row, "nation").parse::<f64>().unwrap() * 100.0).round() / 100.0);
    }
    assert_eq!(
        national, REPORT_MEANS,
        "the page shows the report's national means"
    );

    // The same page from an origin not listed: the browser refuses the
    // response (the preflight has no Access-Control-Allow-Origin for it).
    let other = serve_page(page(&app.address, &token));
    let dom = render(browser, format!("{other}/")).await;
    assert!(
        dom.contains(r#"<p id="status">refused: TypeError</p>"#),
        "{dom}"
    );
    assert!(!dom.contains("id=\"area-1\""), "{dom}");
}

/// No name resolves but the loopback address: a machine without internet.
const OFFLINE: &str = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1";

#[tokio::test]
async fn graphiql_is_drawn_with_the_network_cut_off() {
    let Some(browser) = chromium() else {
        eprintln!("skipped: no Chromium on the PATH (apt-get install chromium; .ci/run does)");
        return;
    };
    let app = spawn_app().await;
    let dom = render_with(browser, format!("{}/graphql", app.address), &[OFFLINE]).await;
    // React drew GraphiQL: its editor, the run button, the starting query
    // and the example Authorization header in the open Headers tab.
    for drawn in [
        "graphiql-container",
        "graphiql-execute-button",
        "maturityAggregates",
        "mognad token --role kommun --kommun 1280",
        "Authorization",
    ] {
        assert!(dom.contains(drawn), "{drawn} is not drawn: {dom}");
    }
    assert!(!dom.contains("Loading GraphiQL"), "{dom}");
}

#[tokio::test]
async fn graphiql_loads_nothing_from_another_origin() {
    let app = spawn_app().await;
    let page = app
        .client
        .get(format!("{}/graphql", app.address))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        policy.starts_with("default-src 'none'; script-src 'self';"),
        "{policy}"
    );
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("//unpkg") && !html.contains("https://"),
        "{html}"
    );
    // Every script and style it names is served here, with an ETag that
    // answers 304 when the file is unchanged.
    for file in [
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
        "start.js",
    ] {
        assert!(
            html.contains(&format!("/graphiql/{file}\"")),
            "{file} in {html}"
        );
        let url = format!("{}/graphiql/{file}", app.address);
        let got = app.client.get(&url).send().await.unwrap();
        assert_eq!(got.status(), 200, "{file}");
        let tag = got.headers()["etag"].clone();
        assert_eq!(got.headers()["cache-control"], "public, no-cache");
        assert!(!got.bytes().await.unwrap().is_empty());
        let again = app
            .client
            .get(&url)
            .header("if-none-match", tag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{file}");
    }
    let unknown = app
        .client
        .get(format!("{}/graphiql/../Cargo.toml", app.address));
    assert_eq!(unknown.send().await.unwrap().status(), 404);

    // In production there is no GraphiQL, and none of its files.
    let production = spawn_app_with(|c| c.production = true).await;
    let asked = production
        .client
        .get(format!("{}/graphql", production.address))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_ne!(
        asked
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned()),
        Some("text/html; charset=utf-8".to_owned())
    );
    let file = production
        .client
        .get(format!("{}/graphiql/graphiql.min.js", production.address))
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), 404);
}
