//! Spider charts (radar) of the nine maturity areas, as accessible SVG:
//! a `<title>`, a `<desc>` holding the figures as a text table, labelled
//! axes, and `role="img"`.
//!
//! - `GET /charts/rounds/{year}/radar.svg?segment=CODE`: a segment's means
//!   (`SE`, a group `A`–`C`, a subgroup `A1`–`C9` or a län `01`–`25`) beside the nation's,
//!   under the figures' rules (PUBLISHED for anyone, CLOSED for SKR) and
//!   from the same release plan: a suppressed mean is not drawn and says so.
//! - `GET /charts/me/{year}/radar.svg`: with a kommun's token, its own
//!   levels beside its group's and the nation's means (the means once the
//!   round is PUBLISHED, as in `myComparison`: the policy releases them).
//!
//! Caching follows the caller's audience (see `super::caching`).

use std::fmt::Write as _;

use actix_web::{HttpRequest, HttpResponse, web};
use entity::survey_round;
use schema::cost::Figure;
use schema::policy::Caching;
use schema::services::aggregates::{self, Grouping};
use schema::services::{comparison, rounds};
use schema::{ApiError, Principal, policy};
use serde::Deserialize;

use super::AppState;
use super::open_data::refused;

/// One polygon: a name, and a value per area (none where not shown).
struct Series {
    name: String,
    values: Vec<Option<f64>>,
    color: &'static str,
    /// Whole-number levels (a kommun's own) rather than means.
    levels: bool,
}

/// The query of the segment chart.
#[derive(Debug, Deserialize)]
pub struct SegmentParams {
    segment: Option<String>,
}

fn year_of(text: &str) -> Result<i32, ApiError> {
    text.parse()
        .map_err(|_| ApiError::bad_input(format!("{text:?} is not a year")))
}

async fn round_of(
    state: &AppState,
    principal: &Principal,
    year: i32,
) -> Result<survey_round::Model, ApiError> {
    rounds::find(&state.reads, principal, None, Some(year))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no round {year}")))
}

/// `GET /charts/rounds/{year}/radar.svg?segment=CODE`.
pub async fn segment_radar(
    state: web::Data<std::sync::Arc<AppState>>,
    req: HttpRequest,
    year: web::Path<String>,
    params: web::Query<SegmentParams>,
) -> HttpResponse {
    let principal = match super::graphql::principal_of(&state, &req).await {
        Ok(p) => p,
        Err(e) => return super::graphql::unauthorized(&e.to_string()),
    };
    let caching = policy::audience(&principal).caching();
    match segment_chart(&state, &req, &principal, &year, params.segment.as_deref()).await {
        Ok(svg) => svg_reply(svg, caching),
        Err(e) => refused(&e),
    }
}

async fn segment_chart(
    state: &AppState,
    req: &HttpRequest,
    principal: &Principal,
    year: &str,
    segment: Option<&str>,
) -> Result<String, ApiError> {
    let year = year_of(year)?;
    let code = segment.unwrap_or("SE").trim().to_ascii_uppercase();
    let grouping = match code.len() {
        _ if code == "SE" => Grouping::National,
        1 if matches!(code.as_str(), "A" | "B" | "C") => Grouping::Group,
        2 if code.starts_with(['A', 'B', 'C']) && code[1..].chars().all(|c| c.is_ascii_digit()) => {
            Grouping::Subgroup
        }
        2 if code.chars().all(|c| c.is_ascii_digit()) => Grouping::County,
        _ => {
            return Err(ApiError::bad_input(format!(
                "segment {code:?}: use SE, a group A-C, a subgroup such as B4 or a län such as 09"
            )));
        }
    };
    let round = policy::figures(principal, &round_of(state, principal, year).await?)?;
    let cost = [Grouping::National, grouping]
        .into_iter()
        .map(|g| {
            schema::cost::figure(
                Figure::MaturityAggregates,
                round.id,
                Some(g),
                Some(&state.memory),
            )
        })
        .sum();
    super::ratelimit::charge(state, principal, req, cost)?;
    let national = aggregates::maturity(
        &state.reads,
        &state.memory,
        &round,
        Grouping::National,
        state.min_cell,
    )
    .await?;
    let rows = aggregates::maturity(
        &state.reads,
        &state.memory,
        &round,
        grouping,
        state.min_cell,
    )
    .await?;
    let mine: Vec<_> = rows
        .iter()
        .filter(|r| r.segment.code == code && r.area.number.is_some())
        .collect();
    let Some(first) = mine.first() else {
        return Err(ApiError::not_found(format!(
            "no segment {code} in round {year}: not a segment of its classification nor a län"
        )));
    };
    let mut areas: Vec<(i32, String)> = national
        .iter()
        .filter_map(|r| r.area.number.map(|n| (n, r.area.title_sv.clone())))
        .collect();
    areas.sort();
    let value_of = |rows: &[&aggregates::AggregateRow], n: i32| {
        rows.iter()
            .find(|r| r.area.number == Some(n))
            .and_then(|r| r.mean_level)
    };
    let national: Vec<_> = national.iter().collect();
    let mut series = Vec::new();
    if grouping != Grouping::National {
        series.push(Series {
            name: first.segment.name.clone(),
            values: areas.iter().map(|(n, _)| value_of(&mine, *n)).collect(),
            color: "#c2410c",
            levels: false,
        });
    }
    series.push(Series {
        name: "Riket".into(),
        values: areas.iter().map(|(n, _)| value_of(&national, *n)).collect(),
        color: "#1d4ed8",
        levels: false,
    });
    let title = if grouping == Grouping::National {
        format!("Mognadsnivå per område {year}: riket")
    } else {
        format!(
            "Mognadsnivå per område {year}: {} ({code}) och riket",
            first.segment.name
        )
    };
    Ok(radar(&title, &areas, &series))
}

/// `GET /charts/me/{year}/radar.svg`, with a kommun's token.
pub async fn my_radar(
    state: web::Data<std::sync::Arc<AppState>>,
    req: HttpRequest,
    year: web::Path<String>,
) -> HttpResponse {
    let principal = match super::graphql::principal_of(&state, &req).await {
        Ok(p) => p,
        Err(e) => return super::graphql::unauthorized(&e.to_string()),
    };
    let caching = policy::audience(&principal).caching();
    match my_chart(&state, &req, &principal, &year).await {
        Ok(svg) => svg_reply(svg, caching),
        Err(e) => refused(&e),
    }
}

async fn my_chart(
    state: &AppState,
    req: &HttpRequest,
    principal: &Principal,
    year: &str,
) -> Result<String, ApiError> {
    let year = year_of(year)?;
    let scope = policy::kommun(principal)?;
    let round = round_of(state, principal, year).await?;
    let cost = schema::cost::figure(Figure::MyComparison, round.id, None, Some(&state.memory));
    super::ratelimit::charge(state, principal, req, cost)?;
    let rows = comparison::compare(
        &state.reads,
        &state.memory,
        &scope,
        &round,
        None,
        state.min_cell,
    )
    .await?;
    let rows: Vec<_> = rows.iter().filter(|r| r.area.number.is_some()).collect();
    let areas: Vec<(i32, String)> = rows
        .iter()
        .filter_map(|r| r.area.number.map(|n| (n, r.area.title_sv.clone())))
        .collect();
    let series = vec![
        Series {
            name: format!("Kommunen ({})", scope.code()),
            values: rows.iter().map(|r| r.level.map(f64::from)).collect(),
            color: "#047857",
            levels: true,
        },
        Series {
            name: "Kommungruppen".into(),
            values: rows.iter().map(|r| r.group_mean).collect(),
            color: "#c2410c",
            levels: false,
        },
        Series {
            name: "Riket".into(),
            values: rows.iter().map(|r| r.national_mean).collect(),
            color: "#1d4ed8",
            levels: false,
        },
    ];
    let title = format!(
        "Mognadsnivå per område {year}: kommun {} jämförd med kommungruppen och riket",
        scope.code()
    );
    Ok(radar(&title, &areas, &series))
}

fn svg_reply(svg: String, caching: Caching) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    super::caching::headers(&mut response, caching, Some(3600));
    response
        .content_type("image/svg+xml; charset=utf-8")
        .body(svg)
}

/// Text made safe for XML.
fn escape(text: &str) -> String {
    // XML 1.0 has no place for other control characters: they are left out.
    text.replace(
        |c: char| c.is_control() && !matches!(c, '\t' | '\n' | '\r'),
        "",
    )
    .replace('&', "&amp;")
    .replace('<', "&lt;")
    .replace('>', "&gt;")
    .replace('"', "&quot;")
}

/// A value as the report writes it (a decimal comma), or "dolt" where it
/// is not shown.
fn shown(value: Option<f64>, level: bool) -> String {
    match value {
        Some(v) if level => format!("{v:.0}"),
        Some(v) => format!("{v:.2}").replace('.', ","),
        None => "–".into(),
    }
}

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 640.0;
const CX: f64 = 480.0;
const CY: f64 = 300.0;
const RADIUS: f64 = 200.0;
/// Longest line of an axis label, in characters; longer names wrap.
const LABEL_LINE: usize = 26;

/// A label's words in lines of at most [`LABEL_LINE`] characters.
fn wrap(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= LABEL_LINE => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_owned()),
        }
    }
    lines
}

/// The point of `value` on axis `i` of `n`, on a scale to `max`.
fn point(i: usize, n: usize, value: f64, max: f64) -> (f64, f64) {
    let angle = -std::f64::consts::FRAC_PI_2 + (i as f64) * std::f64::consts::TAU / (n as f64);
    let r = RADIUS * (value / max).clamp(0.0, 1.0);
    (CX + r * angle.cos(), CY + r * angle.sin())
}

/// The chart: rings at each whole level, an axis per area, a polygon per
/// series (points only where a value is missing), a legend, and the
/// figures as a table in `<desc>`.
fn radar(title: &str, areas: &[(i32, String)], series: &[Series]) -> String {
    let n = areas.len().max(3);
    let top = series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .fold(2.0_f64, |m, v| m.max(*v))
        .ceil();
    let mut desc = String::from("Område");
    for s in series {
        let _ = write!(desc, " | {}", s.name);
    }
    desc.push('\n');
    for (i, (number, name)) in areas.iter().enumerate() {
        let _ = write!(desc, "{number}. {name}");
        for s in series {
            let _ = write!(
                desc,
                " | {}",
                shown(s.values.get(i).copied().flatten(), s.levels)
            );
        }
        desc.push('\n');
    }
    if series.iter().any(|s| s.values.iter().any(Option::is_none)) {
        desc.push_str(
            "– betyder att värdet inte visas: för få kommuner bakom det, eller ännu inte redovisat.\n",
        );
    }
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" aria-labelledby="chart-title chart-desc" lang="sv" font-family="sans-serif" font-size="13">
<title id="chart-title">{}</title>
<desc id="chart-desc">{}</desc>
<rect width="100%" height="100%" fill="#ffffff"/>
"##,
        escape(title),
        escape(&desc)
    );
    // Rings at each whole level, labelled on the first axis.
    let mut level = 1.0;
    while level <= top {
        let ring: Vec<String> = (0..n)
            .map(|i| {
                let (x, y) = point(i, n, level, top);
                format!("{x:.1},{y:.1}")
            })
            .collect();
        let (lx, ly) = point(0, n, level, top);
        let _ = writeln!(
            svg,
            r##"<polygon points="{}" fill="none" stroke="#d1d5db"/><text x="{:.1}" y="{:.1}" fill="#6b7280" font-size="11">{level:.0}</text>"##,
            ring.join(" "),
            lx + 6.0,
            ly + 14.0
        );
        level += 1.0;
    }
    for (i, (number, name)) in areas.iter().enumerate() {
        let (x, y) = point(i, n, top, top);
        let (lx, ly) = point(i, n, top * 1.12, top);
        let anchor = if (lx - CX).abs() < 5.0 {
            "middle"
        } else if lx > CX {
            "start"
        } else {
            "end"
        };
        let lines = wrap(&format!("{number}. {name}"));
        // Labels above the centre grow upwards, the others downwards.
        let first_y = if ly < CY {
            ly - 16.0 * (lines.len() - 1) as f64
        } else {
            ly + 4.0
        };
        let spans: String = lines
            .iter()
            .enumerate()
            .map(|(k, line)| {
                format!(
                    r#"<tspan x="{lx:.1}" y="{:.1}">{}</tspan>"#,
                    first_y + 16.0 * k as f64,
                    escape(line)
                )
            })
            .collect();
        let _ = writeln!(
            svg,
            r##"<line x1="{CX}" y1="{CY}" x2="{x:.1}" y2="{y:.1}" stroke="#9ca3af"/><text text-anchor="{anchor}" fill="#111827">{spans}</text>"##
        );
    }
    for s in series {
        let points: Vec<Option<(f64, f64)>> = s
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| v.map(|v| point(i, n, v, top)))
            .collect();
        let _ = writeln!(svg, r#"<g class="series" data-name="{}">"#, escape(&s.name));
        if points.iter().all(Option::is_some) && !points.is_empty() {
            let list: Vec<String> = points
                .iter()
                .flatten()
                .map(|(x, y)| format!("{x:.1},{y:.1}"))
                .collect();
            let _ = writeln!(
                svg,
                r#"<polygon points="{}" fill="{}" fill-opacity="0.15" stroke="{}" stroke-width="2"/>"#,
                list.join(" "),
                s.color,
                s.color
            );
        }
        for (x, y) in points.iter().flatten() {
            let _ = writeln!(
                svg,
                r#"<circle cx="{x:.1}" cy="{y:.1}" r="3.5" fill="{}"/>"#,
                s.color
            );
        }
        svg.push_str("</g>\n");
    }
    for (i, s) in series.iter().enumerate() {
        let y = HEIGHT - 20.0 - 22.0 * (series.len() - 1 - i) as f64;
        let _ = writeln!(
            svg,
            r##"<rect x="24" y="{:.1}" width="14" height="14" fill="{}"/><text x="46" y="{:.1}" fill="#111827">{}</text>"##,
            y - 12.0,
            s.color,
            y,
            escape(&s.name)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_missing_values_are_said() {
        let areas = vec![
            (1, "Styrning & <ledning>".to_owned()),
            (2, "Risk".into()),
            (3, "Klass".into()),
        ];
        let series = [Series {
            name: "A \"stor\"".into(),
            values: vec![Some(1.5), None, Some(1.25)],
            color: "#000000",
            levels: false,
        }];
        let svg = radar("Titel", &areas, &series);
        assert!(svg.contains("Styrning &amp; &lt;ledning&gt;"));
        assert!(svg.contains("A &quot;stor&quot;"));
        assert!(svg.contains("1. Styrning &amp; &lt;ledning&gt; | 1,50"));
        assert!(svg.contains("2. Risk | –"));
        assert!(svg.contains("inte visas"));
        // Two points drawn, no polygon for a series with a gap.
        assert_eq!(svg.matches("<circle").count(), 2);
    }
}
