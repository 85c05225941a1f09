//! The customer's own words in a contact: the quoted history a mail client appends to a reply
//! (support's earlier answer under "On … wrote:" or "-----Original Message-----", `>` lines)
//! and the client's footer ("Sent from my iPhone") cut, so topics, themes and clusters hear what
//! the customer said this time. Support's own "could you confirm the e-mail address linked to
//! your account?" quoted under a question about a direct debit is not a phishing report.
//! Serves intake (the stored text keeps everything) and the helpdesk bridge.

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
