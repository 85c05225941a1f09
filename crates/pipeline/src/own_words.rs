//! The customer's own words in a contact: the quoted history a mail client appends to a reply
//! (support's earlier answer under "On … wrote:" or "-----Original Message-----", `>` lines)
//! and the client's footer ("Sent from my iPhone") cut, so topics, themes and clusters hear what
//! the customer said this time. Support's own "could you confirm the e-mail address linked to
//! your account?" quoted under a question about a direct debit is not a phishing report.
//! Serves intake (the stored text keeps everything) and the helpdesk bridge.

use smallvec::SmallVec;

/// `text` up to its quoted history or mail-client footer. Lines marked `>` before that stay:
/// a customer who quotes something (the text they got) is reporting it. A forward keeps
/// everything, since what it carries is the report; so does a message that is nothing but
/// history.
pub fn own_words(text: &str) -> &str {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let bare = line.trim();
        if opens_history(bare) || opens_signature(bare) {
            let head = text[..offset].trim_end();
            if head.trim_start().is_empty() || is_forward(text) {
                return text;
            }
            return head;
        }
        offset += line.len();
    }
    text
}

/// `text` without the lines that are not the customer's complaint: what a chat's assistant
/// said ("Bot: Hi, what can I help you with?"), and a web form's fields that hold who wrote
/// and what they picked from a list ("Name: …", "Email: …", "Topic: Login & security"). Read
/// whole, those words dilute a one-line complaint below what the classifier needs, and the
/// same greeting in every chat is no theme.
pub fn without_wrapper_lines(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.lines().any(is_wrapper_line) {
        return text.into();
    }
    let kept: Vec<&str> = text.lines().filter(|l| !is_wrapper_line(l)).collect();
    kept.join("\n").into()
}

/// `text` without the courtesies of a mail: the salutation that opens it ("Dear Sir/Madam,",
/// "Liebes Team,") and the closing that ends it with the name under it ("Many thanks,\nMaria").
/// Every mail has them, so they say nothing of the complaint, and read whole they thin a
/// one-sentence report of a charge nobody made below what the classifier needs (the same
/// sentence scored 0.84 alone and 0.48 between "Dear Sir/Madam," and "Best, Maria").
/// Only short lines at the very start and end go, and never the only line.
pub fn without_courtesies(text: &str) -> std::borrow::Cow<'_, str> {
    // The lines with words, each with where it starts and ends in `text`. Called on every
    // contact, so nothing is built unless something is cut.
    let mut content: SmallVec<[(usize, usize); 16]> = SmallVec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if !line.trim().is_empty() {
            content.push((offset, offset + line.len()));
        }
        offset += line.len();
    }
    let line = |k: usize| &text[content[k].0..content[k].1];
    // The salutation opens the body: the first line, or the second under a subject (labelled
    // "Subject:" or not: many helpdesks put the bare subject first).
    let opening = (0..content.len().min(2)).find(|&k| is_salutation(line(k)));
    // The closing is one of the last three lines, with at most a name or two under it, and
    // something of the body stays above it.
    let body_from = opening.map_or(0, |k| k + 1);
    let closing = (content.len().saturating_sub(3)..content.len()).find(|&k| {
        k > body_from && is_closing(line(k)) && (k + 1..content.len()).all(|j| words(line(j)) <= 3)
    });
    let end = closing.map_or(text.len(), |k| content[k].0);
    match opening {
        _ if body_from >= closing.unwrap_or(content.len()) => text.into(),
        None if closing.is_none() => text.into(),
        None => text[..end].into(),
        Some(0) => text[content[0].1..end].into(),
        Some(k) => format!("{}{}", &text[..content[k].0], &text[content[k].1..end]).into(),
    }
}

/// The longest line (in bytes) that can be a salutation or a closing: four long words.
const SHORT_LINE: usize = 80;

fn words(line: &str) -> usize {
    line.split_whitespace().count()
}

/// A short line ending in a comma ("Hello,", "Dear Sir/Madam,", "Hola equipo,") or a bare
/// greeting word.
fn is_salutation(line: &str) -> bool {
    const GREETINGS: &[&str] = &[
        "hi",
        "hello",
        "hey",
        "hiya",
        "dear",
        "good morning",
        "good afternoon",
        "good evening",
        "hallo",
        "guten tag",
        "moin",
        "bonjour",
        "bonsoir",
        "salut",
        "hola",
        "buenos días",
        "buenas",
        "ciao",
        "buongiorno",
        "salve",
        "goedemorgen",
        "goedemiddag",
        "beste",
        "hoi",
    ];
    let Some((bare, word_count)) = short(line) else {
        return false;
    };
    bare.ends_with(',')
        || (word_count <= 3 && {
            let lower = lower_words(bare);
            GREETINGS.iter().any(|g| {
                lower
                    .strip_prefix(g)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
            })
        })
}

/// A short line ending in a comma ("Kind regards,", "Mit freundlichen Grüßen,") or a bare
/// closing word ("Thanks", "Best", "Cordialement").
fn is_closing(line: &str) -> bool {
    const CLOSINGS: &[&str] = &[
        "thanks",
        "thank you",
        "thx",
        "cheers",
        "best",
        "regards",
        "kind regards",
        "best regards",
        "best wishes",
        "many thanks",
        "danke",
        "viele grüße",
        "grüße",
        "gruß",
        "lg",
        "vg",
        "mit freundlichen grüßen",
        "merci",
        "cordialement",
        "bien à vous",
        "gracias",
        "saludos",
        "un saludo",
        "grazie",
        "saluti",
        "cordiali saluti",
        "distinti saluti",
        "bedankt",
        "groeten",
        "groetjes",
        "met vriendelijke groet",
        "met vriendelijke groeten",
        "vriendelijke groet",
        "mvg",
        "mfg",
        "kr",
        "thanks in advance",
        "bien cordialement",
        "atentamente",
        "grazie mille",
    ];
    short(line).is_some_and(|(bare, _)| {
        bare.ends_with(',') || CLOSINGS.contains(&lower_words(bare).as_str())
    })
}

/// `line` trimmed with its number of words, if it is short enough to be a salutation or a
/// closing (four words at most). Most lines are sentences: too long to be either, and not worth
/// counting words in.
fn short(line: &str) -> Option<(&str, usize)> {
    let bare = line.trim();
    if bare.len() > SHORT_LINE {
        return None;
    }
    let word_count = words(bare);
    (word_count <= 4).then_some((bare, word_count))
}

/// A short line's words in lower case, without the punctuation that ends it ("Thanks!").
fn lower_words(bare: &str) -> String {
    bare.trim_end_matches(['!', '.', ',']).to_lowercase()
}

/// A line said by the chat's assistant or holding a web form's field.
fn is_wrapper_line(line: &str) -> bool {
    const LABELS: &[&str] = &[
        // the assistant of a chat
        "bot",
        "assistant",
        "virtual assistant",
        "chatbot",
        // who wrote, and from what
        "name",
        "nom",
        "nombre",
        "nome",
        "naam",
        "email",
        "e-mail",
        "correo electrónico",
        "correo",
        "phone",
        "telefon",
        "téléphone",
        "teléfono",
        "telefono",
        "telefoon",
        "device",
        "gerät",
        "appareil",
        "dispositivo",
        "apparaat",
        // a category picked from a list
        "topic",
        "thema",
        "sujet",
        "tema",
        "argomento",
        "categorie",
        "category",
        "kategorie",
        "catégorie",
        "categoría",
        "categoria",
    ];
    let Some((label, _)) = line.split_once(':') else {
        return false;
    };
    let label = label.trim();
    label.len() <= 24 && LABELS.contains(&label.to_lowercase().as_str())
}

/// Whether a mail forwards another one: a forward marker line or a forwarding subject.
pub fn is_forward(text: &str) -> bool {
    const MARKERS: &[&str] = &[
        "forwarded message",
        "begin forwarded message",
        "weitergeleitete nachricht",
        "message transféré",
        "mensaje reenviado",
        "messaggio inoltrato",
        "doorgestuurd bericht",
    ];
    const SUBJECTS: &[&str] = &["fwd:", "fw:", "wg:", "tr:", "rv:", "i:", "doorst:"];
    text.lines().any(|line| {
        let bare = line.trim().trim_matches('-').trim();
        let subject = if starts(bare, "subject: ") || starts(bare, "betreff: ") {
            bare.split_once(": ").map_or(bare, |(_, s)| s)
        } else {
            bare
        };
        SUBJECTS.iter().any(|s| starts(subject, s)) || MARKERS.iter().any(|m| starts(bare, m))
    })
}

/// Whether `line` (trimmed) starts with `prefix`, ignoring ASCII case.
fn starts(line: &str, prefix: &str) -> bool {
    line.len() >= prefix.len()
        && line.is_char_boundary(prefix.len())
        && line[..prefix.len()].eq_ignore_ascii_case(prefix)
}

fn ends(line: &str, suffix: &str) -> bool {
    line.len() >= suffix.len()
        && line.is_char_boundary(line.len() - suffix.len())
        && line[line.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

/// Lines that open a quoted earlier message in the mail clients customers use, in the
/// languages they write: everything from one of them on is history. A sender line counts only
/// with an address in it (`[email]` once redacted), so "From: my phone" in a sentence stays.
pub fn opens_history(line: &str) -> bool {
    const ATTRIBUTION: &[(&str, &str)] = &[
        ("on ", "wrote:"),
        ("am ", "schrieb:"),
        ("le ", "a écrit :"),
        ("le ", "a écrit:"),
        ("el ", "escribió:"),
        ("il ", "ha scritto:"),
        ("op ", "geschreven:"),
    ];
    const DIVIDERS: &[&str] = &[
        "-----original message-----",
        "-----ursprüngliche nachricht-----",
        "-----message d'origine-----",
        "-----mensaje original-----",
        "-----messaggio originale-----",
        "-----oorspronkelijk bericht-----",
        "________________________________",
    ];
    const SENDER: &[&str] = &["from: ", "von: ", "de : ", "de: ", "da: ", "van: "];
    ATTRIBUTION
        .iter()
        .any(|(a, b)| starts(line, a) && ends(line, b))
        || DIVIDERS.iter().any(|d| starts(line, d))
        || (SENDER.iter().any(|s| starts(line, s))
            && (line.contains('@') || line.contains("[email]")))
}

/// Lines that start a signature: the `-- ` delimiter and mobile and desktop clients' footers.
pub fn opens_signature(line: &str) -> bool {
    const FOOTERS: &[&str] = &[
        "sent from my ",
        "sent from mail for ",
        "get outlook for ",
        "von meinem iphone gesendet",
        "gesendet von ",
        "envoyé de mon ",
        "envoyé depuis ",
        "enviado desde mi ",
        "inviato dal mio ",
        "inviato da ",
        "verzonden met ",
        "verstuurd vanaf mijn ",
    ];
    line == "--" || FOOTERS.iter().any(|f| starts(line, f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_replies_and_footers_go_in_several_languages() {
        let body = "My card was charged twice.\n\nOn Tue, 3 Dec 2026 at 10:00, Support <[email]> wrote:\n> Could you confirm the e-mail address linked to your account?";
        assert_eq!(own_words(body), "My card was charged twice.");
        let body = "Meine Karte wurde gesperrt.\n--\nMax\nTel 0123";
        assert_eq!(own_words(body), "Meine Karte wurde gesperrt.");
        let body = "Toujours rien.\nLe mar. 3 déc. 2026, Support a écrit :\nancien message";
        assert_eq!(own_words(body), "Toujours rien.");
        let body = "see below\n\nSent from my iPhone";
        assert_eq!(own_words(body), "see below");
        let body = "Hallo,\nwo bleibt die Karte?\n\n-----Ursprüngliche Nachricht-----\nVon: Support <[email]>\nBetreff: AW";
        assert_eq!(own_words(body), "Hallo,\nwo bleibt die Karte?");
        let body = "Nada.\n\nEnviado desde mi smartphone";
        assert_eq!(own_words(body), "Nada.");
    }

    #[test]
    fn plain_text_and_quoted_reports_keep_their_words() {
        let body = "Got a text from you: \"verify now\" — is it real?";
        assert_eq!(own_words(body), body);
        // A sentence that merely mentions a sender keeps its words.
        let body = "From: my neighbour I heard the app is down";
        assert_eq!(own_words(body), body);
        // What a customer quotes above any history is what they report.
        let body = "Is this you?\n> Your account is suspended, verify at [link]";
        assert_eq!(own_words(body), body);
    }

    #[test]
    fn forwards_and_bare_history_keep_everything() {
        let body = "Subject: Fwd: Account suspended\n\nscam?\n\n________________________________\nFrom: Security <[email]>\nVerify at [link]";
        assert_eq!(own_words(body), body);
        let body = "On Mon, Team <[email]> wrote:\n> Your account is suspended";
        assert_eq!(own_words(body), body);
    }

    #[test]
    fn the_assistants_lines_and_form_fields_are_not_the_complaint() {
        let chat = "Bot: Hi, I'm the assistant. What can I help you with?\nCustomer: agent\n\
                    Bot: Thanks! Connecting you.\nCustomer: someone changed my password";
        assert_eq!(
            without_wrapper_lines(chat),
            "Customer: agent\nCustomer: someone changed my password"
        );
        let form = "Subject: Help\nTopic: Login & security\nName: [name]\nE-Mail: [email]\n\
                    Message: a login from a device I don't own";
        assert_eq!(
            without_wrapper_lines(form),
            "Subject: Help\nMessage: a login from a device I don't own"
        );
        // Other labels, and text without any, stay as they are.
        let plain = "Customer: hi\nNote: my card was charged twice";
        assert_eq!(without_wrapper_lines(plain), plain);
        assert_eq!(
            without_wrapper_lines("a charge I don't know"),
            "a charge I don't know"
        );
    }

    #[test]
    fn a_mails_salutation_and_closing_are_not_the_complaint() {
        let mail = "There's a charge\n\nDear Sir/Madam,\n\nThere's a charge on my card I never made.\n\nBest,\nMaria Garcia";
        assert_eq!(
            without_courtesies(mail),
            "There's a charge\n\n\nThere's a charge on my card I never made.\n\n"
        );
        let mail = "Hallo Team,\nmein Passwort wurde geändert.\nMit freundlichen Grüßen\nMax";
        assert_eq!(without_courtesies(mail), "mein Passwort wurde geändert.\n");
        let mail = "Hola,\nno puedo entrar.\nGracias";
        assert_eq!(without_courtesies(mail), "no puedo entrar.\n");
        // A long last line is the customer's, and the only line is never cut.
        let mail = "Hello,\nsomeone changed my email.\nThanks for looking into this so fast, it worries me";
        assert_eq!(
            without_courtesies(mail),
            "someone changed my email.\nThanks for looking into this so fast, it worries me"
        );
        for text in ["Hi,", "Thanks", "someone changed my email", ""] {
            assert_eq!(without_courtesies(text), text);
        }
    }

    #[test]
    fn odd_text_never_panics() {
        for body in [
            "",
            "\n",
            ">",
            "--",
            "é",
            "on wrote:",
            "Le é a écrit :",
            "de: é@",
            "Subject: é",
        ] {
            let _ = own_words(body);
        }
    }
}
