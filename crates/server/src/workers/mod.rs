//! Background work. Each worker exposes one step (`tick`, returning what it did) that tests
//! call directly; `startup` runs the steps on an interval until shutdown.

pub mod correlation;
pub mod delivery;
pub mod detection;
