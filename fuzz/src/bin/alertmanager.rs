//! AFL target: `alertmanager` (see `frontline_fuzz::Target::Alertmanager`).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        frontline_fuzz::run(frontline_fuzz::Target::Alertmanager, data);
    });
}
