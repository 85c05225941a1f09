//! Personal data out of customer text: e-mail addresses, phone numbers, payment card numbers,
//! IBANs and IP addresses become typed placeholders (`[email]`, `[phone]`, `[card]`, `[iban]`,
//! `[ip]`) before anything is stored.
//!
//! Patterns only find candidates; a candidate is replaced when it passes the check that makes it
//! what it claims to be: the Luhn check for cards, the ISO 13616 mod-97 checksum and the
//! country's length for IBANs, a real address parse for IPs, and for phone numbers a shape or a
//! nearby word that says "phone" (and no word that says "order"). This keeps order numbers,
//! dates and amounts, which agents and detectors need, in the text.
//!
//! E-mail local parts in Han, Kana or Hangul are not recognised: those scripts are written
//! without spaces, so where such an address would begin cannot be told from the sentence
//! before it.
//!
//! Detectors run in a fixed priority (e-mail, IBAN, card, IP, phone); a later one never
//! replaces text an earlier one claimed.

use regex::Regex;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

/// A kind of personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PiiKind {
    /// An e-mail address.
    Email,
    /// An IBAN.
    Iban,
    /// A payment card number.
    Card,
    /// An IPv4 or IPv6 address.
    Ip,
    /// A phone number.
    Phone,
}

impl PiiKind {
    /// The placeholder that replaces it.
    pub fn placeholder(self) -> &'static str {
        match self {
            PiiKind::Email => "[email]",
            PiiKind::Iban => "[iban]",
            PiiKind::Card => "[card]",
            PiiKind::Ip => "[ip]",
            PiiKind::Phone => "[phone]",
        }
    }
}

/// The result of redacting one text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    /// The text with each finding replaced by its placeholder.
    pub text: String,
    /// What was replaced, in order of position.
    pub findings: Vec<PiiKind>,
}

/// The compiled patterns. Build one ([`Redactor::shared`]) and reuse it: compiling is the
/// expensive part.
#[derive(Debug)]
pub struct Redactor {
    email: Regex,
    iban: Regex,
    digit_run: Regex,
    ipv4: Regex,
    ipv6: Regex,
    phone: Regex,
    phone_word: Regex,
    reference_word: Regex,
}

static SHARED: LazyLock<Redactor> = LazyLock::new(Redactor::new);

#[allow(clippy::expect_used)]
fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).expect("redaction patterns are constants that compile")
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new()
    }
}

impl Redactor {
    /// Compiles the patterns.
    pub fn new() -> Self {
        Self {
            email: compile(
                r"[[\p{L}\p{N}._%+\-]--[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]]+@[\p{L}\p{N}](?:[\p{L}\p{N}\-]*[\p{L}\p{N}])?(?:\.[\p{L}\p{N}](?:[\p{L}\p{N}\-]*[\p{L}\p{N}])?)*\.(?:[a-zA-Z]{2,63}|[\p{L}--\p{ASCII}]{2,})",
            ),
            // Country code, check digits, then 10-32 alphanumerics, optionally grouped.
            iban: compile(r"(?i)(?-u:\b)[a-z]{2}[0-9]{2}(?:[ \-]?[a-z0-9]){10,32}"),
            // Digit groups joined by single spaces or dashes: candidate card numbers.
            digit_run: compile(r"[0-9]+(?:[ \-][0-9]+)*"),
            ipv4: compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}"),
            ipv6: compile(r"(?i)[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?:(?:\.[0-9]{1,3}){3})?"),
            // An optional international prefix, an optional area code in parentheses, then digit
            // groups joined by at most one separator each.
            phone: compile(
                r"(?:\+|(?-u:\b)00)?(?:\(0\)[ \-./]?)?\(?[0-9]{1,5}\)?(?:[ \-./]?\(?[0-9]{1,5}\)?){1,7}",
            ),
            phone_word: compile(
                r"(?i)(?:phone|tel|mobile|cell|call|text me|whatsapp|sms|number|nr|telefon|handy|nummer|anruf|rufnummer|téléphone|telephone|portable|appel|numéro|numero|teléfono|telefono|móvil|movil|llamar|celular)\W{0,3}(?:\w+\W{1,3}){0,3}$",
            ),
            reference_word: compile(
                r"(?i)(?:order|ticket|invoice|ref|reference|case|tracking|booking|confirmation|transaction|receipt|account id|customer id|id|#|no\.|bestell\w*|auftrag\w*|rechnung\w*|sendung\w*|kundennummer|commande|facture|dossier|suivi|pedido|factura|referencia|seguimiento)\W{0,3}(?:\w+\W{1,3}){0,1}$",
            ),
        }
    }

    /// A process-wide instance, compiled on first use.
    pub fn shared() -> &'static Redactor {
        &SHARED
    }

    /// Replaces every finding in `text` with its placeholder.
    ///
    /// ```
    /// use frontline_pipeline::redact::Redactor;
    /// let out = Redactor::shared().redact("I'm bob@example.com, order #1234567 failed");
    /// assert_eq!(out.text, "I'm [email], order #1234567 failed");
    /// ```
    pub fn redact(&self, text: &str) -> Redacted {
        let mut out = self.pass(text);
        // Redaction is applied until nothing changes (at most four passes), so redacting the
        // output again changes nothing: a placeholder changes its neighbours' context (a word
        // count before a phone number, the boundary of an address glued to it), and what was
        // left of a candidate beside a finding may be personal data on its own. Fuzzing found
        // each of these; a fixed point ends the whole family. Texts without findings take one
        // pass, most others two.
        let mut changed = !out.findings.is_empty();
        for _ in 0..3 {
            if !changed {
                break;
            }
            let next = self.pass(&out.text);
            changed = !next.findings.is_empty();
            out.text = next.text;
            out.findings.extend(next.findings);
        }
        out
    }

    /// One pass over `text`.
    fn pass(&self, text: &str) -> Redacted {
        let mut spans: Vec<(usize, usize, PiiKind)> = Vec::new();
        let mut claim = |start: usize, end: usize, kind: PiiKind| {
            if start < end && !spans.iter().any(|&(s, e, _)| start < e && s < end) {
                spans.push((start, end, kind));
            }
        };

        // Cheap byte checks first: most detectors need an `@`, a digit or a colon, and most
        // sentences have few of them.
        let has_at = text.contains('@');
        let has_digit = text.bytes().any(|b| b.is_ascii_digit());
        let has_colon = text.contains(':');
        if has_at {
            for m in self.email.find_iter(text) {
                claim(m.start(), m.end(), PiiKind::Email);
            }
        }
        if !has_digit {
            return finish(text, spans);
        }
        // A candidate that is not a valid IBAN (a typo) may have swallowed a valid one after a
        // space: the search goes on from the next word, not past the candidate. (Found by
        // fuzzing: "DE8937040044053201300 DE89370400440532013000" kept the second.)
        let mut at = 0;
        while let Some(m) = self.iban.find_at(text, at) {
            if let Some(len) = valid_iban_prefix(m.as_str()) {
                claim(m.start(), m.start() + len, PiiKind::Iban);
                at = m.start() + len;
            } else {
                at = m.start() + text[m.start()..].chars().next().map_or(1, char::len_utf8);
            }
        }
        for m in self.digit_run.find_iter(text) {
            // An international phone number, unless it is too long for one (E.164: 15 digits).
            if text[..m.start()].ends_with('+')
                && m.as_str().bytes().filter(u8::is_ascii_digit).count() <= 15
            {
                continue;
            }
            // A run glued to a word at either end (the tail of an IBAN, a product code) is
            // first tried without that end's group: the groups past a separator may hold the
            // card, and the glued digits may belong to something claimed already. Then the
            // whole run: a card written straight before or after letters is still a card.
            // (Both found by fuzzing: "GB82WEST12345698765432 4111-1111-1111-1111" and
            // "4012 8888 8888 1881EXP" kept their cards.)
            let (mut s, mut e) = (m.start(), m.end());
            let glued_before = text[..s]
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric);
            let glued_after = text[e..].chars().next().is_some_and(char::is_alphanumeric);
            if glued_before {
                s = text[s..e].find([' ', '-']).map_or(e, |k| s + k + 1);
            }
            if glued_after {
                e = text[s..e].rfind([' ', '-']).map_or(s, |k| s + k);
            }
            let mut found = Vec::new();
            if s < e {
                cards_within(&text[s..e], s, &mut found);
            }
            cards_within(m.as_str(), m.start(), &mut found);
            found.sort_unstable();
            found.dedup();
            for (cs, ce) in found {
                claim(cs, ce, PiiKind::Card);
            }
        }
        for m in self.ipv4.find_iter(text) {
            let (s, e) = (m.start(), m.end());
            // Part of a longer dotted number (a version such as 4.2.1.0.7), not an address.
            let dotted_neighbour = text[..s].ends_with('.')
                || (text[e..].starts_with('.')
                    && text[e + 1..].starts_with(|c: char| c.is_ascii_digit()));
            if bounded(text, s, e) && !dotted_neighbour && m.as_str().parse::<Ipv4Addr>().is_ok() {
                claim(s, e, PiiKind::Ip);
            }
        }
        for m in self.ipv6.find_iter(text).filter(|_| has_colon) {
            let (s, e) = trim_ipv6(text, m.start(), m.end());
            if e > s
                && bounded(text, s, e)
                && text[s..e].matches(':').count() >= 2
                && text[s..e].parse::<Ipv6Addr>().is_ok()
            {
                claim(s, e, PiiKind::Ip);
            }
        }
        for m in self.phone.find_iter(text) {
            let (s, e) = (m.start(), m.end());
            let s = if text[..s].ends_with('(')
                && text[s..e].contains(')')
                && !text[s..e].starts_with('(')
            {
                s - 1
            } else {
                s
            };
            if bounded(text, s, e) && self.is_phone(text, s, e) {
                claim(s, e, PiiKind::Phone);
            }
        }

        finish(text, spans)
    }

    /// Redacts every string value (not the keys) of a JSON value.
    pub fn redact_json(&self, value: serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match value {
            Value::String(s) => Value::String(self.redact(&s).text),
            Value::Array(items) => {
                Value::Array(items.into_iter().map(|v| self.redact_json(v)).collect())
            }
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(k, v)| (k, self.redact_json(v)))
                    .collect(),
            ),
            other => other,
        }
    }

    /// Decides whether the candidate `text[s..e]` is a phone number.
    fn is_phone(&self, text: &str, s: usize, e: usize) -> bool {
        let candidate = &text[s..e];
        let digits = candidate.chars().filter(char::is_ascii_digit).count();
        if !(7..=15).contains(&digits) {
            return false;
        }
        // Look back a few words, on a char boundary.
        let mut from = s.saturating_sub(40);
        while !text.is_char_boundary(from) {
            from -= 1;
        }
        // Placeholders of earlier findings read as the digits they replaced, so that a second
        // pass sees the context the first did ("[phone] oder 123…" must not read as "phone").
        let before = neutral(&text[from..s]);
        let before = before.as_ref();
        let international = candidate.starts_with('+') || candidate.starts_with("00");
        if international {
            return digits >= 8;
        }
        if self.reference_word.is_match(before) {
            return false;
        }
        let compact: String = candidate.chars().filter(|c| !c.is_whitespace()).collect();
        let national_trunk = (compact.starts_with('0') || compact.starts_with("(0"))
            && !compact.starts_with("00")
            && (9..=12).contains(&digits)
            && !looks_like_date(candidate);
        let north_american = digits == 10 && nanp_shape(candidate);
        national_trunk || north_american || self.phone_word.is_match(before)
    }
}

/// `text` with every placeholder replaced by `0`.
fn neutral(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('[') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = text.to_owned();
    for kind in [
        PiiKind::Email,
        PiiKind::Phone,
        PiiKind::Card,
        PiiKind::Iban,
        PiiKind::Ip,
    ] {
        out = out.replace(kind.placeholder(), "0");
    }
    std::borrow::Cow::Owned(out)
}

/// Builds the output from the claimed spans.
fn finish(text: &str, mut spans: Vec<(usize, usize, PiiKind)>) -> Redacted {
    spans.sort_by_key(|&(s, _, _)| s);
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut findings = Vec::with_capacity(spans.len());
    for (s, e, kind) in spans {
        out.push_str(&text[last..s]);
        out.push_str(kind.placeholder());
        findings.push(kind);
        last = e;
    }
    out.push_str(&text[last..]);
    Redacted {
        text: out,
        findings,
    }
}

/// Whether `text[s..e]` is not glued to letters or digits on either side.
fn bounded(text: &str, s: usize, e: usize) -> bool {
    let before = text[..s].chars().next_back();
    let after = text[e..].chars().next();
    !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
}

/// Narrows an IPv6 candidate to drop trailing punctuation a sentence may add (`fe80::1.`).
fn trim_ipv6(text: &str, s: usize, mut e: usize) -> (usize, usize) {
    while e > s
        && (text[..e].ends_with('.') || (text[..e].ends_with(':') && !text[..e].ends_with("::")))
    {
        e -= 1;
    }
    (s, e)
}

/// `01.02.2026`, `2026-11-25`: day, month and year groups, which are not phone numbers.
fn looks_like_date(candidate: &str) -> bool {
    let groups: Vec<&str> = candidate
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .collect();
    groups.len() == 3
        && groups.iter().any(|g| g.len() == 4)
        && groups.iter().filter(|g| g.len() <= 2).count() == 2
}

/// (555) 123-4567, 555-123-4567, 555.123.4567: the North American shape with separators.
fn nanp_shape(candidate: &str) -> bool {
    let groups: Vec<usize> = candidate
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .map(str::len)
        .collect();
    groups == [3, 3, 4]
}

/// Every card in a run of digit groups: the longest window, then the same on either side of
/// it, as byte offsets shifted by `offset`.
fn cards_within(run: &str, offset: usize, out: &mut Vec<(usize, usize)>) {
    if let Some((s, e)) = card_within(run) {
        out.push((offset + s, offset + e));
        cards_within(&run[..s], offset, out);
        cards_within(&run[e..], offset + e, out);
    }
}

/// Within a run of digit groups, the longest window of whole groups that is a Luhn-valid card
/// number of 13 to 19 digits, as byte offsets into the run.
fn card_within(run: &str) -> Option<(usize, usize)> {
    let mut groups: Vec<(usize, usize)> = Vec::new();
    let mut start = None;
    for (i, c) in run.char_indices() {
        match (c.is_ascii_digit(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                groups.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        groups.push((s, run.len()));
    }
    let mut best: Option<(usize, usize, usize)> = None;
    for i in 0..groups.len() {
        let mut digits = String::new();
        for group in &groups[i..] {
            digits.push_str(&run[group.0..group.1]);
            if digits.len() > 19 {
                break;
            }
            if digits.len() >= 13 && luhn(&digits) && best.is_none_or(|b| digits.len() > b.2) {
                best = Some((groups[i].0, group.1, digits.len()));
            }
        }
    }
    best.map(|(s, e, _)| (s, e))
}

/// The Luhn checksum over ASCII digits.
fn luhn(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

/// IBAN lengths by country (ISO 13616 registry).
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NL", 18),
    ("NO", 15),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("SA", 24),
    ("SC", 31),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
];

/// If `candidate` starts with a valid IBAN (the country's length, mod-97 = 1), the byte length
/// of that prefix, separators included.
fn valid_iban_prefix(candidate: &str) -> Option<usize> {
    let country = candidate.get(..2)?.to_ascii_uppercase();
    let expected = IBAN_LENGTHS
        .iter()
        .find(|(c, _)| *c == country)
        .map(|&(_, n)| n)?;
    let mut compact = String::with_capacity(34);
    for (i, c) in candidate.char_indices() {
        if c.is_ascii_alphanumeric() {
            compact.push(c.to_ascii_uppercase());
            if compact.len() == expected {
                let end = i + c.len_utf8();
                let glued = candidate[end..].starts_with(|c: char| c.is_ascii_alphanumeric());
                return (!glued && iban_checksum_ok(&compact)).then_some(end);
            }
        }
    }
    None
}

fn iban_checksum_ok(iban: &str) -> bool {
    let rearranged = iban[4..].chars().chain(iban[..4].chars());
    let mut rem: u32 = 0;
    for c in rearranged {
        let v = match c.to_digit(36) {
            Some(v) => v,
            None => return false,
        };
        rem = if v < 10 {
            (rem * 10 + v) % 97
        } else {
            (rem * 100 + v) % 97
        };
    }
    rem == 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn r(text: &str) -> String {
        Redactor::shared().redact(text).text
    }

    #[test]
    fn emails_are_found_inside_punctuation_and_other_scripts() {
        assert_eq!(
            r("mail me at <john.doe+x@example.co.uk>, thanks"),
            "mail me at <[email]>, thanks"
        );
        assert_eq!(r("(jane@example.com)."), "([email]).");
        assert_eq!(r("Mein Konto: müller@beispiel.de!"), "Mein Konto: [email]!");
        // Scripts written without spaces: the local part stops at the ideographs, the domain
        // may be internationalised.
        assert_eq!(
            r("我的邮箱是zhang.wei@例子.中国，请回复"),
            "我的邮箱是[email]，请回复"
        );
        assert_eq!(r("メールはtaro@example.jpです"), "メールは[email]です");
        assert_eq!(
            r("not an email: @handle or a@b"),
            "not an email: @handle or a@b"
        );
    }

    #[test]
    fn luhn_valid_cards_go_and_order_numbers_stay() {
        assert_eq!(
            r("card 4111 1111 1111 1111 was charged"),
            "card [card] was charged"
        );
        assert_eq!(r("card 4111-1111-1111-1111."), "card [card].");
        assert_eq!(r("4111111111111111"), "[card]");
        assert_eq!(r("amex 3782 822463 10005"), "amex [card]");
        // A 16-digit order number that fails Luhn stays.
        assert_eq!(
            r("order 4111111111111112 is late"),
            "order 4111111111111112 is late"
        );
        assert_eq!(r("order #12345678 is late"), "order #12345678 is late");
        // A card inside a longer run of groups is still found.
        assert_eq!(r("ref 12 4111 1111 1111 1111"), "ref 12 [card]");
        // So is one after digits glued to a word (an IBAN's tail, a product code).
        assert_eq!(
            r("GB82WEST12345698765432 4111-1111-1111-1111"),
            "[iban] [card]"
        );
        assert_eq!(r("SKU12 4111 1111 1111 1111 x"), "SKU12 [card] x");
        assert_eq!(r("4111 1111 1111 1111 22AB"), "[card] 22AB");
        assert_eq!(r("4012 8888 8888 1881EXP0526"), "[card]EXP0526");
        // A placeholder is not a phone word on a second pass.
        let once = r("Oron +49 30 1234567 oder 123456789012 please");
        assert_eq!(r(&once), once);
        // What is left of a candidate beside an earlier finding is looked at again.
        let once = r("write to ops@example.org2001:db8::1 now");
        assert_eq!(r(&once), once);
        // An IBAN typo does not hide the valid IBAN after it.
        assert_eq!(
            r("IBAN DE8937040044053201300 DE89370400440532013000"),
            "IBAN DE8937040044053201300 [iban]"
        );
        // Too long for a phone number, so a card after all.
        assert_eq!(r("+4111 1111 1111 1111"), "+[card]");
    }

    #[test]
    fn ibans_need_a_valid_checksum_and_length() {
        assert_eq!(
            r("IBAN DE89 3704 0044 0532 0130 00 is mine"),
            "IBAN [iban] is mine"
        );
        assert_eq!(r("iban: gb82west12345698765432."), "iban: [iban].");
        assert_eq!(r("FR1420041010050500013M02606"), "[iban]");
        // One digit off: checksum fails, nothing is redacted as an IBAN.
        assert!(r("DE89 3704 0044 0532 0130 01").contains("DE89"));
        assert_eq!(r("code XY12345678901234"), "code XY12345678901234");
    }

    #[test]
    fn ip_addresses_are_parsed_not_guessed() {
        assert_eq!(r("login from 203.0.113.7 failed"), "login from [ip] failed");
        assert_eq!(r("from 2001:db8::1."), "from [ip].");
        assert_eq!(r("from fe80::1ff:fe23:4567:890a today"), "from [ip] today");
        assert_eq!(r("version 999.1.2.3"), "version 999.1.2.3");
        assert_eq!(r("app 4.2.1.0.7 crashed"), "app 4.2.1.0.7 crashed");
        assert_eq!(r("meet at 12:30"), "meet at 12:30");
    }

    #[test]
    fn phone_numbers_in_international_and_national_forms() {
        assert_eq!(
            r("call me on +44 7700 900123 please"),
            "call me on [phone] please"
        );
        assert_eq!(r("ruf an: 0049 30 1234567"), "ruf an: [phone]");
        assert_eq!(r("Tel. 030 12345678"), "Tel. [phone]");
        assert_eq!(r("mon portable 06 12 34 56 78"), "mon portable [phone]");
        assert_eq!(r("(555) 123-4567 is my cell"), "[phone] is my cell");
        assert_eq!(r("reach me at 555-123-4567"), "reach me at [phone]");
        assert_eq!(r("my number is 5551234"), "my number is [phone]");
        assert_eq!(r("Мой телефон +7 912 345-67-89"), "Мой телефон [phone]");
        assert_eq!(r("+49 (0) 30 1234567"), "[phone]");
    }

    #[test]
    fn dates_amounts_and_references_stay() {
        for keep in [
            "it happened on 2026-11-25 at 10:30",
            "am 01.02.2026 passiert",
            "charged 1,234.56 EUR twice",
            "order number 0612345678 never arrived",
            "ticket 5551234567",
            "Bestellnummer 0301234567 fehlt",
            "error code 500 again, 3 times",
            "since version 10.2",
        ] {
            assert_eq!(r(keep), keep);
        }
    }

    #[test]
    fn findings_are_reported_in_order() {
        let out = Redactor::shared().redact("a@b.de then 4111 1111 1111 1111 then 10.0.0.1");
        assert_eq!(
            out.findings,
            vec![PiiKind::Email, PiiKind::Card, PiiKind::Ip]
        );
    }

    #[test]
    fn json_strings_are_redacted_and_keys_kept() {
        let v = serde_json::json!({"email": "x@y.com", "n": [1, "call 030 1234567"]});
        let out = Redactor::shared().redact_json(v);
        assert_eq!(
            out,
            serde_json::json!({"email": "[email]", "n": [1, "call [phone]"]})
        );
    }

    fn luhn_complete(prefix: &[u8]) -> String {
        let digits: String = prefix.iter().map(|d| char::from(b'0' + d % 10)).collect();
        (0..10u8)
            .map(|c| format!("{digits}{c}"))
            .find(|d| luhn(d))
            .expect("one check digit always completes a Luhn number")
    }

    proptest! {
        #[test]
        fn never_panics_and_is_idempotent(text in "\\PC{0,200}") {
            let once = r(&text);
            prop_assert_eq!(r(&once), once.clone());
        }

        #[test]
        fn embedded_emails_never_survive(
            user in "[a-z][a-z0-9._]{0,15}",
            domain in "[a-z][a-z0-9]{0,10}",
            tld in "(com|de|fr|io|co\\.uk)",
            before in "[a-zA-Z ,.!?]{0,20}",
            after in "[a-zA-Z ,.!?]{0,20}",
        ) {
            let email = format!("{user}@{domain}.{tld}");
            let out = r(&format!("{before} {email} {after}"));
            prop_assert!(!out.contains(&email), "{out}");
            prop_assert!(!out.contains('@'), "{out}");
        }

        #[test]
        fn embedded_cards_never_survive(
            prefix in proptest::collection::vec(0u8..10, 12..=18),
            spaced in any::<bool>(),
            before in "[a-zA-Z ,.!?]{0,20}",
        ) {
            let number = luhn_complete(&prefix);
            let shown = if spaced {
                number.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap_or("")).collect::<Vec<_>>().join(" ")
            } else {
                number.clone()
            };
            let out = r(&format!("{before} {shown} ok"));
            prop_assert!(!out.contains(&shown), "{out}");
            let digits: String = out.chars().filter(char::is_ascii_digit).collect();
            prop_assert!(!digits.contains(&number), "{out}");
        }
    }
}
