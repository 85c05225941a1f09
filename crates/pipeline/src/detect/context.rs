//! The sequence channel of `frontline detect`: how surprising is this transition between
//! coarse levels, given every transition seen before?
//!
//! A contextual anomaly detector after Smirnov's CAD OSE (described in
//! `../shared/research/DETECTION-ANCHORS.md` §3; written here from that description). Values
//! are cut into eight levels of the file's range, each level written as three overlapping
//! "facts" (one per bit and value), so neighbouring levels share facts. The memory is a set of
//! contexts: a left side (the facts of the previous step plus which learned contexts just
//! fired, which gives it memory longer than one step) and a right side (the facts now). At each
//! step the detector asks two things: of the contexts whose left side was fully present, what
//! share saw their right side come true; and, when the transition itself is new, what share of
//! the contexts it would add are new too. The raw score is `(1 - predicted + novel) / 2`: 0 for
//! a known, predicted transition; 1 when nothing predicted it and all of it is new. Coarse
//! levels keep it quiet on noise: a spike needs an unpredicted and mostly novel step.

use rustc_hash::{FxHashMap, FxHashSet};

/// A fact: 0..6 for the level's bits; [`NEURON`] + id for a context that just fired.
type Fact = u64;
type Facts = Vec<Fact>;
const NEURON: Fact = 1 << 31;

/// Levels are written in this many bits (8 levels): coarse on purpose (finer alphabets make
/// more never-seen transitions, so more false alarms).
const BITS: u32 = 3;
/// A left side longer than this is not learned as a new context.
const MAX_LEFT: usize = 7;
/// At most this many of the contexts that fired carry into the next step's left side.
const MAX_FIRED: usize = 15;
/// A series learns at most this many contexts. With their sides a context costs about 500
/// bytes (20,000 rows of noise: 74,000 contexts, a 52 MiB process), so this is about 250 MiB.
/// The coarse alphabet makes memory level off by itself (100,000 rows of noise learn under
/// 100,000 contexts); this makes it a bound whatever the input. Once full, a new transition
/// still counts as new; it is just not remembered.
const MAX_CONTEXTS: usize = 1 << 19;

/// One side's partial set of facts, shared by many contexts.
#[derive(Debug, Default)]
struct Semi {
    facts: Facts,
    /// How many of its facts the last crossing held.
    matched: u32,
    /// Left side only: right semi-context id → context id, in the order learned.
    contexts: Vec<(usize, usize)>,
    by_right: FxHashMap<usize, usize>,
    /// Left side only: the zero-level ones among `contexts`, the only ones a partly matched
    /// left side can use (so a step need not walk every context of every such side).
    zero_level: Vec<(usize, usize)>,
}

impl Semi {
    fn whole(&self) -> bool {
        self.matched as usize == self.facts.len()
    }
}

/// The semi-contexts of one side, found by their facts and by each fact.
#[derive(Debug, Default)]
struct Side {
    ids: FxHashMap<Facts, usize>,
    semis: Vec<Semi>,
    by_fact: FxHashMap<Fact, Vec<usize>>,
    /// Those with at least one fact matched in the last crossing (in no particular order: what
    /// a step computes from them does not depend on it).
    crossed: Vec<usize>,
}

impl Side {
    fn id_of(&mut self, facts: &[Fact]) -> usize {
        if let Some(id) = self.ids.get(facts) {
            return *id;
        }
        let id = self.semis.len();
        self.semis.push(Semi {
            facts: facts.to_vec(),
            ..Semi::default()
        });
        for f in facts {
            self.by_fact.entry(*f).or_default().push(id);
        }
        self.ids.insert(facts.to_vec(), id);
        id
    }

    /// Counts, for every semi-context of this side, how many of `facts` it holds. Counting
    /// alone is what most steps need; the matched facts themselves only when a new transition
    /// proposes contexts ([`intersection`]).
    fn cross(&mut self, facts: &[Fact]) {
        for id in self.crossed.drain(..) {
            self.semis[id].matched = 0;
        }
        for f in facts {
            if let Some(ids) = self.by_fact.get(f) {
                for id in ids {
                    let semi = &mut self.semis[*id];
                    if semi.matched == 0 {
                        self.crossed.push(*id);
                    }
                    semi.matched += 1;
                }
            }
        }
    }
}

/// The facts of sorted `a` also in sorted `b`.
fn intersection(a: &[Fact], b: &[Fact]) -> Facts {
    let mut out = Vec::with_capacity(a.len().min(b.len()));
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

#[derive(Debug, Clone, Copy)]
struct Context {
    /// Its left and right semi-contexts.
    left: usize,
    right: usize,
    used: u64,
    /// Learned from a whole transition (not a part of one): only these propose new contexts.
    zero_level: bool,
}

/// The contextual detector of one series. Knows the series' range (allowed by NAB's rules, and
/// known for a file) to cut it into levels.
#[derive(Debug)]
pub struct ContextDetector {
    min: f64,
    step: f64,
    left: Side,
    right: Side,
    contexts: Vec<Context>,
    /// The facts of the previous step and the contexts that fired at it.
    previous: Facts,
    /// The zero-level context created at this step, not to be counted as firing at it.
    created: Option<usize>,
    /// How many contexts it may learn ([`MAX_CONTEXTS`]).
    capacity: usize,
}

impl ContextDetector {
    /// A detector for values within [`min`, `max`].
    pub fn new(min: f64, max: f64) -> Self {
        let top = f64::from((1u32 << BITS) - 1);
        let range = if max > min { max - min } else { top };
        Self {
            min,
            step: range / top,
            left: Side::default(),
            right: Side::default(),
            contexts: Vec::new(),
            previous: Vec::new(),
            created: None,
            capacity: MAX_CONTEXTS,
        }
    }

    /// The raw surprise of `value` in [0, 1], learning it.
    pub fn update(&mut self, value: f64) -> f64 {
        let top = (1u64 << BITS) - 1;
        let level = (((value - self.min) / self.step).max(0.0) as u64).min(top);
        let current: Facts = (0..u64::from(BITS))
            .map(|bit| bit * 2 + ((level >> bit) & 1))
            .collect();
        self.step(current)
    }

    fn step(&mut self, current: Facts) -> f64 {
        let transition =
            (!self.previous.is_empty()).then(|| (self.previous.clone(), current.clone()));
        let new_transition = transition
            .as_ref()
            .is_some_and(|(left, right)| self.learn_transition(left, right));
        self.right.cross(&current);
        let (mut fired, selected, proposals) = self.fire(new_transition, &current);
        let predicted = if selected > 0 {
            fired.len() as f64 / selected as f64
        } else {
            0.0
        };

        fired.sort_unstable_by_key(|(id, used)| (*used, *id));
        let mut next = current;
        next.extend(
            fired
                .iter()
                .rev()
                .take(MAX_FIRED)
                .map(|(id, _)| NEURON + *id as u64),
        );
        next.sort_unstable();
        next.dedup();

        // Each distinct proposal learned once (a repeat is never new the second time).
        let mut distinct: FxHashSet<(&[Fact], &[Fact])> = FxHashSet::default();
        let mut added = 0;
        for &(l, r) in &proposals.pairs {
            let (left, right) = (&proposals.lefts[l][..], &proposals.rights[r][..]);
            if distinct.insert((left, right)) && self.learn(left, right, false).1 {
                added += 1;
            }
        }
        self.left.cross(&next);
        self.previous = next;
        let novel = match &transition {
            Some((left, right)) if new_transition => {
                let whole = (&left[..], &right[..]);
                let candidates = distinct.len() + usize::from(!distinct.contains(&whole));
                (added + 1) as f64 / candidates as f64
            }
            _ => 0.0,
        };
        (1.0 - predicted + novel) / 2.0
    }

    /// Learns a whole transition as a zero-level context: whether it was new.
    fn learn_transition(&mut self, left: &[Fact], right: &[Fact]) -> bool {
        let (id, new) = self.learn(left, right, true);
        let Some(id) = id else {
            return new;
        };
        if new {
            self.created = Some(id);
        } else if !self.contexts[id].zero_level {
            let context = &mut self.contexts[id];
            context.zero_level = true;
            let semi = &mut self.left.semis[context.left];
            semi.zero_level.push((context.right, id));
        }
        new
    }

    /// The context of (left, right), created if missing: its id (none when it is new and the
    /// memory is full) and whether it is new.
    fn learn(&mut self, left: &[Fact], right: &[Fact], zero_level: bool) -> (Option<usize>, bool) {
        if self.contexts.len() >= self.capacity {
            let known = (self.left.ids.get(left))
                .zip(self.right.ids.get(right))
                .and_then(|(l, r)| self.left.semis[*l].by_right.get(r).copied());
            return (known, known.is_none());
        }
        let l = self.left.id_of(left);
        let r = self.right.id_of(right);
        let semi = &mut self.left.semis[l];
        if let Some(id) = semi.by_right.get(&r) {
            return (Some(*id), false);
        }
        let id = self.contexts.len();
        self.contexts.push(Context {
            left: l,
            right: r,
            used: 0,
            zero_level,
        });
        semi.by_right.insert(r, id);
        semi.contexts.push((r, id));
        if zero_level {
            semi.zero_level.push((r, id));
        }
        (Some(id), true)
    }

    /// The contexts whose whole left side was present and whose right side came true (with
    /// their use counts), how many had their whole left side present, and the partial
    /// transitions worth learning as new contexts (only a new transition proposes any).
    fn fire(
        &mut self,
        new_transition: bool,
        current: &[Fact],
    ) -> (Vec<(usize, u64)>, usize, Proposals) {
        let mut fired = Vec::new();
        let mut selected = 0;
        let mut proposals = Proposals::default();
        let created = self.created.take();
        for &l in &self.left.crossed {
            let left = &self.left.semis[l];
            let whole_left = left.whole();
            if !whole_left && !new_transition {
                continue;
            }
            let may_propose = new_transition && left.matched as usize <= MAX_LEFT;
            let mut left_facts = None;
            let contexts = if whole_left {
                &left.contexts
            } else {
                &left.zero_level
            };
            for &(r, id) in contexts {
                if Some(id) == created {
                    continue;
                }
                let right = &self.right.semis[r];
                let context = &mut self.contexts[id];
                let partly_right = right.matched > 0;
                if whole_left {
                    selected += 1;
                    if partly_right && right.whole() {
                        context.used += 1;
                        fired.push((id, context.used));
                        continue;
                    }
                }
                if partly_right && may_propose && context.zero_level {
                    let li = *left_facts.get_or_insert_with(|| {
                        proposals
                            .lefts
                            .push(intersection(&left.facts, &self.previous));
                        proposals.lefts.len() - 1
                    });
                    let ri = *proposals.right_of.entry(r).or_insert_with(|| {
                        proposals.rights.push(intersection(&right.facts, current));
                        proposals.rights.len() - 1
                    });
                    proposals.pairs.push((li, ri));
                }
            }
        }
        (fired, selected, proposals)
    }
}

/// The partial transitions one step proposes as new contexts; each semi-context's matched
/// facts computed once, however many of its contexts propose.
#[derive(Debug, Default)]
struct Proposals {
    lefts: Vec<Facts>,
    rights: Vec<Facts>,
    right_of: FxHashMap<usize, usize>,
    pairs: Vec<(usize, usize)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeating_pattern_becomes_unsurprising_and_a_break_in_it_is_not() {
        let mut d = ContextDetector::new(0.0, 7.0);
        let pattern = [0.0, 3.0, 7.0, 3.0];
        let mut late = 0.0f64;
        for i in 0..400 {
            let s = d.update(pattern[i % 4]);
            if i >= 300 {
                late = late.max(s);
            }
        }
        assert!(late < 0.2, "a learned cycle still scores {late}");
        // A jump the cycle never made: from 7 straight down to 0.
        d.update(0.0);
        d.update(3.0);
        d.update(7.0);
        let broken = d.update(0.0);
        assert!(broken >= 0.5, "a new transition scores only {broken}");
    }

    #[test]
    fn memory_stops_at_its_capacity_and_the_detector_still_scores() {
        let mut d = ContextDetector::new(0.0, 1.0);
        d.capacity = 500;
        let mut x = 0.5f64;
        for _ in 0..5000 {
            // A chaotic sequence: always something new to learn.
            x = 3.99 * x * (1.0 - x);
            assert!((0.0..=1.0).contains(&d.update(x)));
        }
        assert_eq!(d.contexts.len(), 500);
    }

    #[test]
    fn a_constant_series_and_out_of_range_values_do_not_panic() {
        let mut d = ContextDetector::new(5.0, 5.0);
        for _ in 0..100 {
            assert!((0.0..=1.0).contains(&d.update(5.0)));
        }
        assert!((0.0..=1.0).contains(&d.update(-1e300)));
        assert!((0.0..=1.0).contains(&d.update(1e300)));
    }
}
