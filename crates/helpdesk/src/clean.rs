//! A helpdesk message's text as the customer wrote it this time: markup turned into plain
//! text, and the quoted history and signature that mail clients append removed, so redaction,
//! topics and clusters see the new words only (a quoted lure in every reply would otherwise
//! count once per reply).
//!
//! The markup is what helpdesks put in message bodies (paragraphs, line breaks, links,
//! blockquotes, a few entities), not arbitrary web pages: a small scanner suffices, and a full
//! HTML parser would be a large dependency for it.

/// Plain text of a message body that may be HTML, without quoted history or signature.
pub fn clean(body: &str) -> String {
    let text = if looks_like_html(body) {
        html_to_text(body)
    } else {
        body.replace("\r\n", "\n")
    };
    let text = without_quotes_and_signature(&text);
    collapse_blank_lines(&text)
}

fn looks_like_html(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    [
        "<p",
        "<br",
        "<div",
        "</",
        "<blockquote",
        "<a ",
        "<span",
        "<html",
        "<body",
    ]
    .iter()
    .any(|t| lower.contains(t))
}

/// Tags dropped (block tags become line breaks), `<blockquote>`, `<style>`, `<script>` and
/// `<head>` dropped with their content, entities decoded.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    // Inside an element whose content is dropped: its name and nesting depth.
    let mut skipping: Option<(String, usize)> = None;
    while let Some(lt) = rest.find('<') {
        if skipping.is_none() {
            out.push_str(&decode_entities(&rest[..lt]));
        }
        let after = &rest[lt + 1..];
        let starts_tag = after
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '/' || c == '!');
        let gt = after.find('>').filter(|_| starts_tag);
        let Some(gt) = gt else {
            // A lone '<' is text.
            if skipping.is_none() {
                out.push('<');
            }
            rest = after;
            continue;
        };
        let tag = &after[..gt];
        rest = &after[gt + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if let Some((skip, depth)) = &mut skipping {
            if *skip == name {
                if closing {
                    *depth -= 1;
                    if *depth == 0 {
                        skipping = None;
                    }
                } else if !tag.ends_with('/') {
                    *depth += 1;
                }
            }
            continue;
        }
        match name.as_str() {
            "blockquote" | "style" | "script" | "head" if !closing => {
                skipping = Some((name, 1));
            }
            "br" | "p" | "div" | "li" | "tr" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "ul"
            | "ol" | "table" => out.push('\n'),
            _ => {}
        }
    }
    if skipping.is_none() {
        out.push_str(&decode_entities(rest));
    }
    out
}

fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let end = after.find(';').filter(|&e| e <= 10);
        let decoded = end.and_then(|e| entity(&after[..e]));
        match (end, decoded) {
            (Some(e), Some(c)) => {
                out.push(c);
                rest = &after[e + 1..];
            }
            _ => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some(' '),
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

fn without_quotes_and_signature(text: &str) -> String {
    use frontline_pipeline::own_words::{is_forward, opens_history, opens_signature};
    // A forward's "From: … <address>" header opens what the customer is reporting (the lure
    // they got), not history.
    if is_forward(text) {
        return text.to_owned();
    }
    let mut kept = Vec::new();
    for line in text.lines() {
        if opens_history(line.trim()) || opens_signature(line.trim()) {
            break;
        }
        if line.trim_start().starts_with('>') {
            continue;
        }
        kept.push(line.trim_end());
    }
    // A message that is nothing but a quote (a bare forward) keeps its text: what the
    // customer forwarded is what they are reporting.
    if kept.iter().all(|l| l.trim().is_empty()) {
        return text
            .lines()
            .map(|l| l.trim_start().trim_start_matches('>').trim())
            .collect::<Vec<_>>()
            .join("\n");
    }
    kept.join("\n")
}

fn collapse_blank_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.trim().is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line.trim_start_matches(' '));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_becomes_text_and_quotes_go() {
        let body = "<div><p>I got a text asking me to verify my account &amp; card.</p><p>Is it you?</p>\
            <blockquote><p>Old message <b>quoted</b></p></blockquote></div><style>p{color:red}</style>";
        assert_eq!(
            clean(body),
            "I got a text asking me to verify my account & card.\n\nIs it you?"
        );
    }

    #[test]
    fn mail_history_and_signatures_are_removed_in_several_languages() {
        let body = "My card was charged twice.\n\nOn Tue, 3 Dec 2026 at 10:00, Support <help@example.com> wrote:\n> We are looking into it";
        assert_eq!(clean(body), "My card was charged twice.");
        let body = "Meine Karte wurde gesperrt.\n--\nMax\nTel 0123";
        assert_eq!(clean(body), "Meine Karte wurde gesperrt.");
        let body = "Toujours rien.\nLe mar. 3 déc. 2026, Support a écrit :\nancien message";
        assert_eq!(clean(body), "Toujours rien.");
        let body = "see below\nSent from my iPhone";
        assert_eq!(clean(body), "see below");
    }

    #[test]
    fn a_forwarded_mail_keeps_what_it_forwards() {
        let body = "Genuine?\n\n---------- Forwarded message ---------\nFrom: Bank <security@secure-bank.example>\nSubject: Action required\n\nVerify your account at secure-bank.example";
        let cleaned = clean(body);
        assert!(
            cleaned.contains("Verify your account at secure-bank.example"),
            "{cleaned}"
        );
    }

    #[test]
    fn a_bare_forward_keeps_what_was_forwarded() {
        let body = "> Your account is suspended. Verify at [link]\n> Team";
        assert_eq!(
            clean(body),
            "Your account is suspended. Verify at [link]\nTeam"
        );
    }

    #[test]
    fn entities_and_stray_brackets_survive() {
        assert_eq!(
            html_to_text("<p>a &lt; b &#x263A; &#9731; &bogus; 3 < 4</p>"),
            "\na < b ☺ ☃ &bogus; 3 < 4\n"
        );
    }
}
