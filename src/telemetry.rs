//! One tracing subscriber for the process; `RUST_LOG` sets the filter.
//! Text lines by default, JSON lines (one object per event, with the
//! request span's fields: request id, operation, role, kommun) with
//! `MOGNAD_LOG_FORMAT=json` or in production.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber (once; later calls are ignored, as in tests).
pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    // Colours only on a terminal, and not where NO_COLOR is set
    // (no-color.org): a pipe or a file gets plain text.
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(terminal)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.try_init()
    };
}

/// `text` fit for a log line: control characters (line breaks, terminal
/// escapes) shown as `\u{..}` escapes, and cut after `max` characters with
/// the length it had. Every log field that comes from a request (a token's
/// header or claims, a user agent) goes through here, so no request can
/// write more than a bounded line or forge one.
pub fn clean(text: &str, max: usize) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == max {
            out.push_str(&format!("… ({} characters)", text.chars().count()));
            break;
        }
        if c == '\\' {
            // So that an escape below is told from text that looks like one.
            out.push_str("\\\\");
        } else if unsafe_in_a_line(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// Characters that break or disguise a line: control characters, the
/// line and paragraph separators, and the invisible format characters that
/// reorder or hide text (Unicode's Cf: bidirectional marks, overrides and
/// isolates, zero widths, the soft hyphen, the BOM, interlinear
/// annotations, tags).
pub fn unsafe_in_a_line(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{ad}'
                | '\u{600}'..='\u{605}'
                | '\u{61c}'
                | '\u{6dd}'
                | '\u{70f}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
                | '\u{110bd}'
                | '\u{1bca0}'..='\u{1bca3}'
                | '\u{1d173}'..='\u{1d17a}'
                | '\u{e0001}'
                | '\u{e0020}'..='\u{e007f}'
        )
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn request_text_is_cut_and_its_control_characters_escaped() {
        assert_eq!(clean("plain", 10), "plain");
        assert_eq!(clean("a\nb\u{1b}[31m", 20), "a\\u{a}b\\u{1b}[31m");
        assert_eq!(
            clean("x\u{202e}y\u{2028}\u{61c}", 20),
            "x\\u{202e}y\\u{2028}\\u{61c}"
        );
        // Text that looks like an escape is told from one.
        assert_eq!(clean("a\\u{1b}", 20), "a\\\\u{1b}");
        let long = "k".repeat(30_000);
        let cut = clean(&long, 64);
        assert!(cut.starts_with(&"k".repeat(64)));
        assert!(cut.ends_with("(30000 characters)"), "{cut}");
        assert!(cut.len() < 100);
    }
}
