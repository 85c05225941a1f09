//! Training-time variants of a corpus example, so the learned classifier hears a complaint
//! through the noise real contacts carry: the wrappers of each channel (a ticket's subject and
//! sign-off, a chat's fragments, an agent's call note, a social post's handle and tags, a web
//! form's fields) and
//! typing slips. Deterministic: the same example and seed give the same variants. Used by
//! [`crate::learned::TopicModel::train`] only; nothing here runs on live traffic.

use crate::clusters::mix;

/// Words of a channel's wrapper in one language.
struct Wrappers {
    greetings: &'static [&'static str],
    closings: &'static [&'static str],
    subjects: &'static [&'static str],
    chat: &'static [&'static str],
    call: &'static [&'static str],
    fillers: &'static [&'static str],
    /// A web form's field names (subject, topic, email, message) and the topics it offers:
    /// a form's category is chosen from a list, so its words say nothing of the complaint.
    form: [&'static str; 4],
    form_topics: &'static [&'static str],
}

const EN: Wrappers = Wrappers {
    greetings: &[
        "Hi,",
        "Hello,",
        "Dear support team,",
        "Good morning,",
        "Hey there,",
        "To whom it may concern,",
    ],
    closings: &[
        "Thanks",
        "Kind regards, Sam",
        "Thank you in advance",
        "Cheers",
        "Best wishes\\nSent from my phone",
        "Regards\\nA. Miller",
    ],
    subjects: &[
        "Subject: Help",
        "Subject: Question about my account",
        "Subject: urgent",
        "Subject: Re: your message",
        "Subject: complaint",
    ],
    chat: &[
        "hello?",
        "anyone there",
        "hi",
        "pls help",
        "thanks",
        "still waiting",
        "talk to a human",
        "agent",
        "none of these",
        "speak to someone please",
    ],
    call: &[
        "Caller verified. Customer says:",
        "ID checks passed. cust reports",
        "Inbound call, customer advises",
        "Note: caller states",
    ],
    fillers: &[
        "ticket raised",
        "advised customer",
        "callback booked",
        "customer unhappy",
        "resolved on call",
        "escalated to 2nd line",
    ],
    form: ["Subject:", "Topic:", "Email:", "Message:"],
    form_topics: &[
        "Login & security",
        "Billing",
        "Payments",
        "Other",
        "App",
        "Website",
    ],
};
const DE: Wrappers = Wrappers {
    greetings: &[
        "Hallo,",
        "Guten Tag,",
        "Sehr geehrte Damen und Herren,",
        "Hi,",
        "Moin,",
    ],
    closings: &[
        "Danke",
        "Viele Grüße",
        "Mit freundlichen Grüßen\\nK. Weber",
        "LG",
        "Gesendet von meinem Handy",
    ],
    subjects: &[
        "Betreff: Hilfe",
        "Betreff: Frage zu meinem Konto",
        "Betreff: dringend",
        "Betreff: AW: Ihre Nachricht",
    ],
    chat: &[
        "hallo?",
        "ist da jemand",
        "bitte helfen",
        "danke",
        "Mitarbeiter bitte",
        "mit einem Menschen sprechen",
        "nichts davon",
    ],
    call: &[
        "Anrufer verifiziert. Kunde sagt:",
        "Kundin ruft an:",
        "Notiz: Anrufer meldet",
    ],
    fillers: &[
        "Ticket erstellt",
        "Kunde informiert",
        "Rückruf vereinbart",
        "an 2nd Level",
    ],
    form: ["Betreff:", "Thema:", "E-Mail:", "Nachricht:"],
    form_topics: &[
        "Anmeldung & Sicherheit",
        "Rechnung",
        "Zahlungen",
        "Sonstiges",
        "App",
    ],
};
const FR: Wrappers = Wrappers {
    greetings: &["Bonjour,", "Madame, Monsieur,", "Salut,", "Bonsoir,"],
    closings: &[
        "Merci",
        "Cordialement",
        "Bien à vous\\nC. Martin",
        "Envoyé de mon téléphone",
    ],
    subjects: &[
        "Objet : Aide",
        "Objet : question sur mon compte",
        "Objet : urgent",
        "Objet : RE: votre message",
    ],
    chat: &[
        "allô ?",
        "il y a quelqu'un",
        "svp aidez moi",
        "merci",
        "parler à un conseiller",
        "aucun de ces choix",
        "un humain svp",
    ],
    call: &[
        "Client vérifié. Le client dit :",
        "Appel entrant, la cliente signale",
        "Note : l'appelant indique",
    ],
    fillers: &[
        "ticket créé",
        "client informé",
        "rappel prévu",
        "transmis au niveau 2",
    ],
    form: ["Objet :", "Sujet :", "E-mail :", "Message :"],
    form_topics: &[
        "Connexion et sécurité",
        "Facturation",
        "Paiements",
        "Autre",
        "Application",
    ],
};
const ES: Wrappers = Wrappers {
    greetings: &["Hola,", "Buenos días,", "Estimados señores:", "Buenas,"],
    closings: &[
        "Gracias",
        "Saludos",
        "Un saludo\\nL. García",
        "Enviado desde mi móvil",
    ],
    subjects: &[
        "Asunto: Ayuda",
        "Asunto: consulta sobre mi cuenta",
        "Asunto: urgente",
        "Asunto: RE: su mensaje",
    ],
    chat: &[
        "hola?",
        "hay alguien",
        "ayuda por favor",
        "gracias",
        "hablar con una persona",
        "agente",
        "ninguna de estas",
    ],
    call: &[
        "Cliente verificado. Indica:",
        "Llamada entrante, la clienta comenta",
        "Nota: el cliente dice",
    ],
    fillers: &[
        "ticket abierto",
        "cliente informado",
        "se le devolverá la llamada",
        "escalado",
    ],
    form: ["Asunto:", "Tema:", "Correo:", "Mensaje:"],
    form_topics: &["Acceso y seguridad", "Facturación", "Pagos", "Otro", "App"],
};
const IT: Wrappers = Wrappers {
    greetings: &["Salve,", "Buongiorno,", "Gentile assistenza,", "Ciao,"],
    closings: &[
        "Grazie",
        "Cordiali saluti",
        "Saluti\\nM. Rossi",
        "Inviato dal mio telefono",
    ],
    subjects: &[
        "Oggetto: Aiuto",
        "Oggetto: domanda sul mio conto",
        "Oggetto: urgente",
        "Oggetto: R: vostro messaggio",
    ],
    chat: &[
        "pronto?",
        "c'è qualcuno",
        "aiuto per favore",
        "grazie",
        "parlare con una persona",
        "operatore",
        "nessuna di queste",
    ],
    call: &[
        "Cliente verificato. Riferisce:",
        "Chiamata in entrata, la cliente segnala",
        "Nota: il chiamante dice",
    ],
    fillers: &[
        "ticket aperto",
        "cliente informato",
        "richiamata prevista",
        "inoltrato al secondo livello",
    ],
    form: ["Oggetto:", "Argomento:", "Email:", "Messaggio:"],
    form_topics: &[
        "Accesso e sicurezza",
        "Fatturazione",
        "Pagamenti",
        "Altro",
        "App",
    ],
};
const NL: Wrappers = Wrappers {
    greetings: &["Hallo,", "Goedemorgen,", "Geachte heer/mevrouw,", "Hoi,"],
    closings: &[
        "Bedankt",
        "Met vriendelijke groet",
        "Groetjes\\nJ. de Vries",
        "Verzonden vanaf mijn telefoon",
    ],
    subjects: &[
        "Onderwerp: Hulp",
        "Onderwerp: vraag over mijn account",
        "Onderwerp: dringend",
        "Onderwerp: RE: uw bericht",
    ],
    chat: &[
        "hallo?",
        "is daar iemand",
        "help aub",
        "dank je",
        "medewerker graag",
        "met een mens praten",
        "geen van deze",
    ],
    call: &[
        "Beller geverifieerd. Klant zegt:",
        "Inkomend gesprek, klant meldt",
        "Notitie: beller geeft aan",
    ],
    fillers: &[
        "ticket aangemaakt",
        "klant geïnformeerd",
        "terugbelafspraak",
        "doorgezet naar 2e lijn",
    ],
    form: ["Onderwerp:", "Categorie:", "E-mail:", "Bericht:"],
    form_topics: &[
        "Inloggen & beveiliging",
        "Facturen",
        "Betalingen",
        "Overig",
        "App",
    ],
};

fn wrappers(language: &str) -> &'static Wrappers {
    match language {
        "de" => &DE,
        "fr" => &FR,
        "es" => &ES,
        "it" => &IT,
        "nl" => &NL,
        _ => &EN,
    }
}

/// The example itself, then `count` variants: each in one channel's wrapper, some with typing
/// slips, some in lower or upper case.
pub fn variants(text: &str, language: &str, seed: u64, count: usize) -> Vec<String> {
    let w = wrappers(language);
    let mut out = Vec::with_capacity(count + 1);
    out.push(text.to_owned());
    let mut state = mix(seed.wrapping_mul(0x9E37_79B9).wrapping_add(17));
    let mut next = |n: usize| {
        state = mix(state);
        (state % n.max(1) as u64) as usize
    };
    let pick = |list: &'static [&'static str], k: usize| list[k % list.len()].replace("\\n", "\n");
    for v in 0..count {
        let body = match next(4) {
            0 => slips(text, &mut next),
            1 => text.to_lowercase(),
            2 if v % 2 == 0 => text.to_uppercase(),
            _ => text.to_owned(),
        };
        let wrapped = match (v + next(2)) % 6 {
            0 => format!(
                "{}\n\n{}\n\n{}\n\n{}",
                pick(w.subjects, next(8)),
                pick(w.greetings, next(8)),
                body,
                pick(w.closings, next(8))
            ),
            1 => format!(
                "Customer: {}\nCustomer: {}\nCustomer: {}",
                pick(w.chat, next(8)),
                body,
                pick(w.chat, next(8))
            ),
            2 => format!(
                "{} {} {}",
                pick(w.call, next(8)),
                body,
                pick(w.fillers, next(8))
            ),
            3 => format!("@support {body} #help"),
            4 => format!(
                "{} {}\n{} {}\n{} [email]\n{} {}",
                w.form[0],
                pick(w.subjects, next(8))
                    .split_once(' ')
                    .map_or("", |(_, s)| s),
                w.form[1],
                pick(w.form_topics, next(8)),
                w.form[2],
                w.form[3],
                body
            ),
            _ => format!(
                "{}\n{}\n{}",
                pick(w.greetings, next(8)),
                body,
                pick(w.closings, next(8))
            ),
        };
        out.push(wrapped);
    }
    out
}

/// One or two slips: a swapped, dropped or doubled letter.
fn slips(text: &str, next: &mut impl FnMut(usize) -> usize) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..1 + next(2) {
        if chars.len() < 4 {
            break;
        }
        let i = 1 + next(chars.len() - 2);
        if !chars[i].is_alphabetic() {
            continue;
        }
        match next(3) {
            0 => chars.swap(i, i + 1),
            1 => {
                chars.remove(i);
            }
            _ => chars.insert(i, chars[i]),
        }
    }
    chars.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_keep_the_text_and_are_reproducible() {
        let a = variants("someone changed my password", "en", 7, 4);
        assert_eq!(a.len(), 5);
        assert_eq!(a[0], "someone changed my password");
        assert_eq!(a, variants("someone changed my password", "en", 7, 4));
        assert!(a[1..].iter().all(|v| v.len() > a[0].len()));
    }
}
