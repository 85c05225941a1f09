//! AFL target: `redaction` (see `frontline_fuzz::Target::Redaction`).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        frontline_fuzz::run(frontline_fuzz::Target::Redaction, data);
    });
}
