#!/usr/bin/env python3
"""Writes N contacts (NDJSON in the API's shape) for the CI performance check: a week of
ordinary traffic in six languages with wrappers, typos and personal data, and a few waves.
Deterministic (seeded). Usage: perf_contacts.py N OUT"""
import datetime
import json
import random
import sys

n, out = int(sys.argv[1]), sys.argv[2]
rng = random.Random(7)
bodies = {
    "en": ["I can't log in since this morning, it says my password is wrong",
           "where is my refund? it has been two weeks",
           "got a text saying my account is locked with a link, is it you?",
           "the app keeps crashing when I open my statements",
           "there is a payment of {amt} I did not make",
           "please change my address to {street}",
           "is the site down? nothing loads for me"],
    "de": ["Ich komme nicht mehr in mein Konto, Passwort falsch",
           "Wo bleibt meine Erstattung? Schon zwei Wochen",
           "Die App stürzt ständig ab",
           "Da ist eine Abbuchung über {amt}, die ich nicht kenne"],
    "fr": ["Je n'arrive plus à me connecter depuis ce matin",
           "L'appli plante à chaque ouverture",
           "J'ai reçu un SMS avec un lien, c'est vous ?"],
    "es": ["No puedo entrar en mi cuenta desde ayer",
           "La app va lentísima hoy",
           "Hay un cargo de {amt} que no reconozco"],
    "it": ["Non riesco ad accedere, password errata",
           "L'app si blocca sempre"],
    "nl": ["Ik kan niet inloggen sinds vanochtend",
           "De app laadt niet"],
}
wrappers = ["{b}", "Subject: Help\n\nHi,\n\n{b}\n\nThanks, {name}\nSent from my phone",
            "Customer: hi\nCustomer: {b}\nCustomer: anyone there?",
            "Caller verified. Customer says: {b} Ticket raised.", "@support {b} #help"]
names = ["Sam Taylor", "Lena Weber", "Camille Martin", "Lucía García", "Marco Rossi", "Daan de Vries"]
langs = ["en"] * 6 + ["de", "de", "fr", "es", "it", "nl"]
t0 = datetime.datetime(2026, 11, 2, tzinfo=datetime.timezone.utc)
span = 7 * 86400
with open(out, "w") as f:
    for i in range(n):
        lang = rng.choice(langs)
        body = rng.choice(bodies[lang]).format(
            amt=f"{rng.randrange(5, 900)},{rng.randrange(10, 99)} €",
            street=f"{rng.randrange(1, 200)} High Street")
        if rng.random() < 0.05 and len(body) > 8:
            k = rng.randrange(1, len(body) - 2)
            body = body[:k] + body[k + 1] + body[k] + body[k + 2:]
        name = rng.choice(names)
        text = rng.choice(wrappers).format(b=body, name=name)
        if rng.random() < 0.3:
            text += f" My email is {name.split()[0].lower()}{rng.randrange(99)}@example.com, phone +44 7700 9{rng.randrange(10000, 99999)}"
        t = t0 + datetime.timedelta(seconds=span * i / n)
        f.write(json.dumps({
            "id": f"p{i}", "source": rng.choice(["zendesk", "intercom", "mailbox"]),
            "channel": rng.choice(["ticket", "chat", "call", "email", "social"]),
            "received_at": t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z", "text": text,
            "customer": f"c{rng.randrange(50000)}", "service": rng.choice(["web", "mobile", "login"]),
            "language": lang}, ensure_ascii=False) + "\n")
