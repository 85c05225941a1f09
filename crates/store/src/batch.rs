//! Which inputs of an intake batch were stored: the same rule in every backend.

use crate::Inserted;
use std::collections::HashSet;

/// Each input's fate, given the (`source`, `id`) keys the database stored now. When a key
/// appears twice in one batch, its first appearance was stored and the later ones are
/// duplicates.
pub fn outcomes<'a>(
    keys: impl Iterator<Item = (&'a str, &'a str)>,
    mut inserted: HashSet<(String, String)>,
) -> Vec<Inserted> {
    keys.map(|(source, id)| {
        if inserted.remove(&(source.to_owned(), id.to_owned())) {
            Inserted::Accepted
        } else {
            Inserted::Duplicate
        }
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_appearance_wins() {
        let inserted: HashSet<_> = [("a".to_owned(), "1".to_owned())].into();
        let out = outcomes([("a", "1"), ("a", "1"), ("b", "2")].into_iter(), inserted);
        assert_eq!(
            out,
            vec![Inserted::Accepted, Inserted::Duplicate, Inserted::Duplicate]
        );
    }
}
