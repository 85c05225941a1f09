//! What both teams learn afterwards: the post-incident review (metrics, the timeline with each
//! team's actions side by side, charts, statements with their approvals, the written sections)
//! as a page and as Markdown, and the trends across incidents. The figures are
//! `frontline_core::metrics`'; this module gathers and lays them out for the pages
//! (`crate::web`), the API (`crate::api::v1::insights`) and the CLI. It reads the store through
//! the shared state and renders nothing itself but Markdown and SVG charts.

mod markdown;
mod review;
mod tickets;
mod trends;

pub use markdown::markdown;
pub use review::*;
pub use tickets::tickets;
pub use trends::*;

/// `3600` → `1 h`; `300` → `5 min`; `86400` → `1 d`.
pub fn human_duration(seconds: i64) -> String {
    let a = seconds.unsigned_abs();
    let sign = if seconds < 0 { "−" } else { "" };
    if a >= 86_400 && a % 86_400 == 0 {
        format!("{sign}{} d", a / 86_400)
    } else if a >= 3600 {
        format!("{sign}{} h {} min", a / 3600, (a % 3600) / 60).replace(" 0 min", "")
    } else if a >= 60 {
        format!("{sign}{} min", a / 60)
    } else {
        format!("{sign}{a} s")
    }
}

/// Escapes text for a Markdown table cell or line: the characters that would start markup or
/// break the table, and any HTML (a Markdown renderer passes HTML through).
pub fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\r' => out.push(' '),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '#' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn quantiles_interpolate_between_ranks() {
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[7], 0.9), Some(7.0));
        assert_eq!(quantile(&[1, 2, 3, 4], 0.5), Some(2.5));
        assert_eq!(quantile(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9), Some(9.1));
        assert_eq!(quantile(&[10, 20, 30], 0.5), Some(20.0));
    }

    #[test]
    fn months_count_back_across_years_in_utc() {
        let now = Utc.with_ymd_and_hms(2026, 2, 10, 23, 30, 0).unwrap();
        assert_eq!(
            month_start(now, 0),
            Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap()
        );
        assert_eq!(
            month_start(now, 2),
            Utc.with_ymd_and_hms(2025, 12, 1, 0, 0, 0).unwrap()
        );
        assert_eq!(
            month_start(now, 14),
            Utc.with_ymd_and_hms(2024, 12, 1, 0, 0, 0).unwrap()
        );
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(human_duration(45), "45 s");
        assert_eq!(human_duration(420), "7 min");
        assert_eq!(human_duration(3600), "1 h");
        assert_eq!(human_duration(6780), "1 h 53 min");
        assert_eq!(human_duration(86_400), "1 d");
        assert_eq!(human_duration(-1380), "−23 min");
    }

    #[test]
    fn markdown_text_cannot_break_out() {
        assert_eq!(md("a|b"), "a\\|b");
        assert_eq!(md("<script>x</script>"), "&lt;script&gt;x&lt;/script&gt;");
        assert_eq!(md("line\nbreak"), "line break");
        assert_eq!(md("[link](javascript:x)"), "\\[link\\](javascript:x)");
    }
}
