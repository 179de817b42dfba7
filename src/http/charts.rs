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
    /// Why a value is not shown, per area (in Swedish; none where shown).
    hidden: Vec<Option<String>>,
    color: &'static str,
    /// Whole-number levels (a kommun's own) rather than means.
    levels: bool,
}

/// Why a hidden figure is hidden, as the chart says it.
fn hidden_because(reason: schema::disclosure::Reason) -> String {
    format!("{} ({})", reason.explained_sv(), reason.name())
}

/// Why a mean of a kommun's comparison is missing, as the chart says it.
fn missing_because(mean: &comparison::Mean) -> Option<String> {
    Some(match mean.as_ref().err()? {
        comparison::Missing::NotPublished => "omgången är inte publicerad ännu".to_owned(),
        comparison::Missing::Hidden(reason) => hidden_because(*reason),
        comparison::Missing::NoBaseline | comparison::Missing::NotInRound => "saknas".to_owned(),
    })
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
        Err(e) => return super::graphql::unauthorized(&state, &e),
    };
    let caching = policy::audience(&principal).caching();
    match segment_chart(&state, &req, &principal, &year, params.segment.as_deref()).await {
        Ok(svg) => svg_reply(&req, svg, caching),
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
    let row_of = |rows: &[&aggregates::AggregateRow], n: i32| {
        rows.iter()
            .find(|r| r.area.number == Some(n))
            .map(|r| (r.mean_level, r.suppressed))
    };
    let series_of = |name: String, rows: &[&aggregates::AggregateRow], color| {
        let cells: Vec<_> = areas.iter().map(|(n, _)| row_of(rows, *n)).collect();
        Series {
            name,
            values: cells.iter().map(|c| c.and_then(|(v, _)| v)).collect(),
            hidden: cells
                .iter()
                .map(|c| c.and_then(|(_, why)| why).map(hidden_because))
                .collect(),
            color,
            levels: false,
        }
    };
    let national: Vec<_> = national.iter().collect();
    let mut series = Vec::new();
    if grouping != Grouping::National {
        series.push(series_of(first.segment.name.clone(), &mine, "#c2410c"));
    }
    series.push(series_of("Riket".into(), &national, "#1d4ed8"));
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
        Err(e) => return super::graphql::unauthorized(&state, &e),
    };
    let caching = policy::audience(&principal).caching();
    match my_chart(&state, &req, &principal, &year).await {
        Ok(svg) => svg_reply(&req, svg, caching),
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
    let filter = schema::services::municipalities::Filter {
        code: Some(scope.code().to_owned()),
        ..Default::default()
    };
    let kommun = schema::services::municipalities::list(&state.reads, filter)
        .await?
        .first()
        .map_or_else(
            || scope.code().to_owned(),
            |m| format!("{} ({})", m.municipality.name, scope.code()),
        );
    let means = |mean: fn(&comparison::ComparisonRow) -> &comparison::Mean| {
        (
            rows.iter()
                .map(|r| mean(r).as_ref().ok().copied())
                .collect(),
            rows.iter().map(|r| missing_because(mean(r))).collect(),
        )
    };
    let (group, group_hidden) = means(|r| &r.group_mean);
    let (nation, nation_hidden) = means(|r| &r.national_mean);
    let series = vec![
        Series {
            name: kommun.clone(),
            values: rows.iter().map(|r| r.level.map(f64::from)).collect(),
            hidden: vec![None; rows.len()],
            color: "#047857",
            levels: true,
        },
        Series {
            name: "Kommungruppen".into(),
            values: group,
            hidden: group_hidden,
            color: "#c2410c",
            levels: false,
        },
        Series {
            name: "Riket".into(),
            values: nation,
            hidden: nation_hidden,
            color: "#1d4ed8",
            levels: false,
        },
    ];
    let title =
        format!("Mognadsnivå per område {year}: {kommun} jämförd med kommungruppen och riket");
    Ok(radar(&title, &areas, &series))
}

/// A chart with the caching its audience allows: fetched without a token
/// (a PUBLISHED round's), kept by shared caches with an ETag and 304, as
/// files are ([`super::caching::shared_frozen`]); with one, private.
fn svg_reply(req: &HttpRequest, svg: String, caching: Caching) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    response.content_type("image/svg+xml; charset=utf-8");
    if caching == Caching::Private {
        super::caching::headers(&mut response, caching, None);
    } else if super::caching::shared_frozen(req, &mut response, svg.as_bytes()) {
        return response.finish();
    }
    response.body(svg)
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
const HEIGHT: f64 = 700.0;
const CX: f64 = 480.0;
const CY: f64 = 345.0;
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

/// The radial scale: the lowest level (1, where every municipality starts)
/// at the centre, the highest whole level reached (at least 2) at the rim.
#[derive(Clone, Copy)]
struct Scale {
    bottom: f64,
    top: f64,
}

impl Scale {
    fn of(series: &[Series]) -> Self {
        let top = series
            .iter()
            .flat_map(|s| s.values.iter().flatten())
            .fold(2.0_f64, |m, v| m.max(*v))
            .ceil();
        Self { bottom: 1.0, top }
    }

    /// Rings between the centre and the rim: quarters of a level over one
    /// level, halves over more.
    fn step(self) -> f64 {
        if self.top - self.bottom <= 1.0 {
            0.25
        } else {
            0.5
        }
    }

    /// The point of `value` on axis `i` of `n`.
    fn point(self, i: usize, n: usize, value: f64) -> (f64, f64) {
        let angle = -std::f64::consts::FRAC_PI_2 + (i as f64) * std::f64::consts::TAU / (n as f64);
        let r = RADIUS * ((value - self.bottom) / (self.top - self.bottom)).max(0.0);
        (CX + r * angle.cos(), CY + r * angle.sin())
    }
}

/// A level on the scale as the report writes it: `1`, `1,25`, `2`.
fn level_label(level: f64) -> String {
    let text = format!("{level:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.replace('.', ",")
}

/// What the legend says of a series' hidden values: one note per reason,
/// naming the areas unless all are hidden.
fn notes(s: &Series, areas: &[(i32, String)]) -> Vec<String> {
    let mut reasons: Vec<&str> = Vec::new();
    for why in s.hidden.iter().flatten() {
        if !reasons.contains(&why.as_str()) {
            reasons.push(why);
        }
    }
    let all = s.values.iter().all(Option::is_none);
    reasons
        .into_iter()
        .map(|why| {
            if all {
                return format!("visas inte: {why}");
            }
            let numbers: Vec<String> = areas
                .iter()
                .zip(&s.hidden)
                .filter(|(_, h)| h.as_deref() == Some(why))
                .map(|((n, _), _)| n.to_string())
                .collect();
            let which = match numbers.split_last() {
                Some((last, [])) => format!("område {last}"),
                Some((last, rest)) => format!("områdena {} och {last}", rest.join(", ")),
                None => String::new(),
            };
            format!("{which} visas inte: {why}")
        })
        .collect()
}

/// The chart: a visible title, rings on a scale from level 1 at the centre,
/// an axis per area, a polygon per series (points only where a value is
/// missing), a legend that says under each series what is not shown and
/// why, and the figures as a table in `<desc>`.
fn radar(title: &str, areas: &[(i32, String)], series: &[Series]) -> String {
    let n = areas.len().max(3);
    let scale = Scale::of(series);
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
    for s in series {
        for note in notes(s, areas) {
            let _ = writeln!(desc, "{}: {note}.", s.name);
        }
    }
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" aria-labelledby="chart-title chart-desc" lang="sv" font-family="sans-serif" font-size="13">
<title id="chart-title">{title}</title>
<desc id="chart-desc">{}</desc>
<rect width="100%" height="100%" fill="#ffffff"/>
<text class="title" x="{CX}" y="30" text-anchor="middle" font-size="17" font-weight="bold" fill="#111827">{title}</text>
"##,
        escape(&desc),
        title = escape(title),
    );
    // Rings from the centre (level 1) out, labelled on the first axis.
    let (cx, cy) = scale.point(0, n, scale.bottom);
    let _ = writeln!(
        svg,
        r##"<text class="scale" x="{:.1}" y="{:.1}" fill="#6b7280" font-size="11">{}</text>"##,
        cx + 6.0,
        cy + 14.0,
        level_label(scale.bottom)
    );
    let mut level = scale.bottom + scale.step();
    while level <= scale.top + 1e-9 {
        let ring: Vec<String> = (0..n)
            .map(|i| {
                let (x, y) = scale.point(i, n, level);
                format!("{x:.1},{y:.1}")
            })
            .collect();
        let (lx, ly) = scale.point(0, n, level);
        let _ = writeln!(
            svg,
            r##"<polygon points="{}" fill="none" stroke="#d1d5db"/><text class="scale" x="{:.1}" y="{:.1}" fill="#6b7280" font-size="11">{}</text>"##,
            ring.join(" "),
            lx + 6.0,
            ly + 14.0,
            level_label(level)
        );
        level += scale.step();
    }
    let beyond = scale.top + (scale.top - scale.bottom) * 0.12;
    for (i, (number, name)) in areas.iter().enumerate() {
        let (x, y) = scale.point(i, n, scale.top);
        let (lx, ly) = scale.point(i, n, beyond);
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
            .map(|(i, v)| v.map(|v| scale.point(i, n, v)))
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
    // The legend, bottom up: each series, then its notes in a line each.
    let mut lines: Vec<(Option<&Series>, String)> = Vec::new();
    for s in series {
        lines.push((Some(s), s.name.clone()));
        for note in notes(s, areas) {
            lines.push((None, note));
        }
    }
    for (k, (swatch, text)) in lines.iter().enumerate() {
        let y = HEIGHT - 16.0 - 20.0 * (lines.len() - 1 - k) as f64;
        match swatch {
            Some(s) => {
                let _ = writeln!(
                    svg,
                    r##"<rect x="24" y="{:.1}" width="14" height="14" fill="{}"/><text class="legend" x="46" y="{y:.1}" fill="#111827">{}</text>"##,
                    y - 12.0,
                    s.color,
                    escape(text)
                );
            }
            None => {
                let _ = writeln!(
                    svg,
                    r##"<text class="note" x="46" y="{y:.1}" fill="#b91c1c">{}</text>"##,
                    escape(text)
                );
            }
        }
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
            hidden: vec![None, Some("för få svarande (SMALL_CELL)".into()), None],
            color: "#000000",
            levels: false,
        }];
        let svg = radar("Titel", &areas, &series);
        assert!(svg.contains("Styrning &amp; &lt;ledning&gt;"));
        assert!(svg.contains("A &quot;stor&quot;"));
        assert!(svg.contains("1. Styrning &amp; &lt;ledning&gt; | 1,50"));
        assert!(svg.contains("2. Risk | –"));
        assert!(svg.contains("område 2 visas inte: för få svarande (SMALL_CELL)"));
        assert!(svg.contains(">Titel</text>"), "a visible title");
        // Two points drawn, no polygon for a series with a gap.
        assert_eq!(svg.matches("<circle").count(), 2);
    }
}
