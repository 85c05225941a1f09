//! AFL target: `contacts_json` (see `frontline_fuzz::Target::ContactsJson`).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        frontline_fuzz::run(frontline_fuzz::Target::ContactsJson, data);
    });
}
